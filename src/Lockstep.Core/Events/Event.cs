using Lockstep.Records;

namespace Lockstep.Events;

/// <summary>
/// A published fact about a record. <see cref="Version"/> is null when the engine is to assign the next version;
/// <see cref="Data"/> is the record's full state as JSON text (null for a delete without data).
/// </summary>
public sealed record Event(string Id, string Type, string Entity, string Key, long? Version, RecordOp Op, string? Data)
{
    /// <summary>Event types the engine emits itself; they never produce completion events of their own.</summary>
    /// <summary>The source it came in through, when it belongs to a side of a two-way pair (null otherwise).</summary>
    public string? Origin { get; init; }

    /// <summary>
    /// Hash of this record as the origin side's own flow would write it: when it equals what Lockstep last wrote there,
    /// the change is Lockstep's own write coming back (an echo) and is dropped.
    /// </summary>
    public string? EchoHash { get; init; }

    public static bool IsCompletion(string type) => type is CompletionTypes.SyncCompleted or CompletionTypes.SyncFailed;
}
