namespace Lockstep.Status;

/// <summary>One system's or flow's state and counters, as <c>GET /api/status</c> shows them.</summary>
public sealed record TargetStatus(
    string? System,
    string State,
    long Pending,
    long InFlight,
    long Delivered,
    long Dead,
    double LagSeconds,
    string Circuit,
    DateTimeOffset? LastSuccessAt,
    DateTimeOffset? LastFailureAt,
    string? LastError)
{
    /// <summary>The flow's last reconciliation (flows with <c>reconcile:</c> only).</summary>
    public Reconciliation.ReconcileReport? LastReconcile { get; init; }

    public DateTimeOffset? NextReconcileAt { get; init; }

    /// <summary>The flow's backfill (records already in the journal sent to it), when it has had one.</summary>
    public Backfills.BackfillProgress? Backfill { get; init; }
}
