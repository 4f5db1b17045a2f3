namespace Lockstep.Journal;

/// <summary>One record across all systems: every version received, and for every flow every attempt.</summary>
public sealed record RecordHistory(string Entity, string Key, IReadOnlyList<RecordVersionView> Versions, IReadOnlyDictionary<string, IReadOnlyList<AttemptView>> Flows);

/// <summary>One event received for the record.</summary>
public sealed record RecordVersionView(string EventId, string Type, long Version, string Op, string Status, DateTimeOffset ReceivedAt);
