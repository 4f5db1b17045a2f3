namespace Lockstep.Reconciliation;

/// <summary>One reconciliation run of a flow: how many records were checked and how many drifted, by kind, with sample keys.</summary>
public sealed record ReconcileReport(
    string Flow, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, long Checked, long Missing, long Different, long Extra, long Repaired, long Failed,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Samples);
