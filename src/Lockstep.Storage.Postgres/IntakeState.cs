using Lockstep.Sources;

namespace Lockstep.Storage.Postgres;

/// <summary>
/// One write transaction's view of the journal, loaded as sets in one round trip (the ids its events may collide with,
/// the heads of its records, a source's last reports, a block of event numbers) and kept current as its events are
/// decided; the rows it decides are written together by <see cref="PostgresJournal"/>, a statement per table.
/// </summary>
internal sealed class IntakeState
{
    /// <summary>Stored events by id (null: known not to be stored), with their opened content.</summary>
    public Dictionary<string, SourceReport?> Stored { get; } = new(StringComparer.Ordinal);

    public Dictionary<(string Entity, string Key), long?> Heads { get; } = [];

    /// <summary>For a poll: the newest event the source reported per record.</summary>
    public Dictionary<(string Entity, string Key), SourceReport?> LastReports { get; } = [];

    public Queue<long> Seqs { get; } = new();

    /// <summary>The engine's clock when the batch was taken (received, routed and due times).</summary>
    public long Now { get; set; }

    public List<EventRow> Events { get; } = [];

    public Dictionary<(string Entity, string Key), (long Version, long Op, long Seq)> Records { get; } = [];

    public Dictionary<(string Flow, string Entity, string Key), (string System, long Version, long Seq)> Routes { get; } = [];
}

internal sealed record EventRow(
    long Seq, string Id, string Type, string Entity, string Key, long Version, long Op, string? Data, long Status, string? Flows, long Completion, string? Trace);
