using Lockstep.Records;

namespace Lockstep.Events;

/// <summary>
/// A published fact about a record. <see cref="Version"/> is null when the engine is to assign the next version;
/// <see cref="Data"/> is the record's full state as JSON text (null for a delete without data).
/// </summary>
public sealed record Event(string Id, string Type, string Entity, string Key, long? Version, RecordOp Op, string? Data)
{
    /// <summary>
    /// The largest version a publisher or source may report (2^62 − 1): the versions above it stay free for the engine
    /// to assign to events without one, so an assigned version never overflows into a negative one.
    /// </summary>
    public const long MaxVersion = long.MaxValue / 2;

    /// <summary>
    /// The flows or systems the event is for (the envelope's <c>targets</c>): routing keeps only the flows it would take
    /// anyway that are named, or that write to a named system. Null routes by type and entity alone.
    /// </summary>
    public IReadOnlyList<string>? Targets { get; init; }

    /// <summary>The source it came in through, when it belongs to a side of a two-way pair (null otherwise).</summary>
    public string? Origin { get; init; }

    /// <summary>
    /// Hash of this record as the origin side's own flow would write it: when it equals what Lockstep last wrote there,
    /// the change is Lockstep's own write coming back (an echo) and is dropped.
    /// </summary>
    public string? EchoHash { get; init; }

    /// <summary>The version assigned to an event without one: one past the record's newest (1 for a new record).</summary>
    /// <remarks>Saturates at <see cref="long.MaxValue"/> (a record stored at it before <see cref="MaxVersion"/> existed):
    /// that event is then stale, never negative.</remarks>
    public static long NextVersion(long? current) => current is { } newest ? (newest == long.MaxValue ? long.MaxValue : Math.Max(newest, 0) + 1) : 1;

    /// <summary>Event types the engine emits itself; they never produce completion events of their own.</summary>
    public static bool IsCompletion(string type) => type is CompletionTypes.SyncCompleted or CompletionTypes.SyncFailed;
}
