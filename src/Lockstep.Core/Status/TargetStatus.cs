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

    /// <summary>A system's concurrency limit now (it adapts to overload answers; at most its <c>concurrency</c>).</summary>
    public int? ConcurrencyLimit { get; init; }

    /// <summary>When an open circuit lets its next probe through (systems with an open circuit only).</summary>
    public DateTimeOffset? NextProbeAt { get; init; }

    /// <summary>Who paused it (or its system), when and why; null while it runs.</summary>
    public Control.Pause? Paused { get; init; }

    /// <summary>The flow's backfill (records already in the journal sent to it), when it has had one.</summary>
    public Backfills.BackfillProgress? Backfill { get; init; }
}
