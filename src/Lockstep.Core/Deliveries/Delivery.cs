using Lockstep.Records;

namespace Lockstep.Deliveries;

/// <summary>One claimed (flow, record version) on its way to a system. <see cref="Attempt"/> is 1 for the first try.</summary>
public sealed record Delivery(
    long Id, string Flow, string System, string Entity, string Key, long Version, RecordOp Op,
    string EventId, string EventType, string? Data, int Attempt)
{
    /// <summary>The deterministic key every request for this version carries, so a retry never applies twice.</summary>
    public string IdempotencyKey => $"{Flow}:{Entity}:{Key}:{Version}";
}
