using Lockstep.Records;

namespace Lockstep.Deliveries;

/// <summary>One claimed (flow, record version) on its way to a system. <see cref="Attempt"/> is 1 for the first try.</summary>
public sealed record Delivery(
    long Id, string Flow, string System, string Entity, string Key, long Version, RecordOp Op,
    string EventId, string EventType, string? Data, int Attempt, long Repair = 0)
{
    /// <summary>
    /// The deterministic key every request for this version carries, so a retry never applies twice. A reconciliation
    /// resend (<see cref="Repair"/> is its run) is keyed apart: the target must apply it again to repair drift. Flow,
    /// entity and key are percent-encoded (<see cref="KeyEncoder"/>), so the key is ASCII and ':' only separates;
    /// it throws <see cref="ArgumentException"/> for a key that is not valid Unicode.
    /// </summary>
    public string IdempotencyKey => Repair == 0
        ? KeyEncoder.IdempotencyKey(Flow, Entity, Key, Version)
        : $"{KeyEncoder.IdempotencyKey(Flow, Entity, Key, Version)}:repair-{Repair.ToString(global::System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>The W3C traceparent of the intake span that committed the event; the delivery span links to it.</summary>
    public string? TraceParent { get; init; }

    /// <summary>The lease epoch it was claimed under: its outcome commits only while that epoch still holds the lease.</summary>
    public long Epoch { get; init; }
}
