namespace Lockstep.Journal;

/// <summary>One record across all systems: every version received, and for every flow every attempt.</summary>
public sealed record RecordHistory(string Entity, string Key, IReadOnlyList<RecordVersionView> Versions, IReadOnlyDictionary<string, IReadOnlyList<AttemptView>> Flows)
{
    /// <summary>The id each flow's target assigned to the record (flows with <c>create:</c>), by flow name.</summary>
    public IReadOnlyDictionary<string, string> TargetIds { get; init; } = new Dictionary<string, string>();
}

/// <summary>One event received for the record.</summary>
public sealed record RecordVersionView(string EventId, string Type, long Version, string Op, string Status, DateTimeOffset ReceivedAt);
