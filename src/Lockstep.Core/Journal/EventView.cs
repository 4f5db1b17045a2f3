namespace Lockstep.Journal;

/// <summary>One event as stored, with its state on every flow it was routed to.</summary>
public sealed record EventView(
    string Id, string Type, string Entity, string Key, long Version, string Op, string Status, DateTimeOffset ReceivedAt,
    string? Data, IReadOnlyList<EventFlowView> Flows);
