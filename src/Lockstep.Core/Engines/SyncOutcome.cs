namespace Lockstep.Engines;

/// <summary>What a manual sync did: the source's or flow's own summary, and for a full sync the drift report.</summary>
public sealed record SyncOutcome(string Name, string Kind, string Outcome, Reconciliation.ReconcileReport? Report)
{
    /// <summary>A flow's or system's retry now: waiting retries made due now.</summary>
    public int? MadeDue { get; init; }

    /// <summary>Deliveries pending after the retry now (due or not).</summary>
    public long? Pending { get; init; }

    /// <summary>Of those, how many wait behind the system's open circuit (0 when it is closed).</summary>
    public long? BehindOpenCircuit { get; init; }

    /// <summary>When the open circuit lets its next probe through.</summary>
    public DateTimeOffset? CircuitOpenUntil { get; init; }
}
