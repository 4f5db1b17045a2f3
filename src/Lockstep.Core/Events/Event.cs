using Lockstep.Records;

namespace Lockstep.Events;

/// <summary>
/// A published fact about a record. <see cref="Version"/> is null when the engine is to assign the next version;
/// <see cref="Data"/> is the record's full state as JSON text (null for a delete without data).
/// </summary>
public sealed record Event(string Id, string Type, string Entity, string Key, long? Version, RecordOp Op, string? Data)
{
    /// <summary>Event types the engine emits itself; they never produce completion events of their own.</summary>
    public static bool IsCompletion(string type) => type is CompletionTypes.SyncCompleted or CompletionTypes.SyncFailed;
}
