namespace Lockstep.Journal;

/// <summary>An event's state on one flow: pending, delivered, superseded (a newer version went instead) or dead.</summary>
public sealed record EventFlowView(string Flow, string State, IReadOnlyList<AttemptView> Attempts);
