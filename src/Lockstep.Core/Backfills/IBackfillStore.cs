namespace Lockstep.Backfills;

/// <summary>A record as the journal holds it now: its newest version and the type of the event that brought it.</summary>
public sealed record RecordHead(string Entity, string Key, long Version, string Type);

/// <summary>A flow's backfill: how far it got (the last record looked at, in (entity, key) order), how many it sent, whether it finished.</summary>
public sealed record BackfillProgress(string Flow, string? AfterEntity, string? AfterKey, long Checked, long Sent, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt);

/// <summary>
/// What a backfill needs from the journal: which flows it has seen, the records page by key, and sending a page to a
/// flow with the cursor moved in the same commit (so a restart resumes after the last page sent, never before it).
/// </summary>
public interface IBackfillStore
{
    /// <summary>Marks the flows seen; returns the ones this journal had never seen (a flow added to the config).</summary>
    ValueTask<IReadOnlyList<string>> MarkSeenAsync(IReadOnlyCollection<string> flows, CancellationToken cancellationToken);

    /// <summary>Starts (or starts over) a flow's backfill from the first record.</summary>
    ValueTask BeginAsync(string flow, DateTimeOffset now, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<BackfillProgress>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> records whose newest version is not a delete, in (entity, key) order after the given one.</summary>
    ValueTask<IReadOnlyList<RecordHead>> ListRecordsAsync(string? afterEntity, string? afterKey, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the records' newest versions due on the flow (a record the flow already has a delivery for is left alone)
    /// and moves the backfill's cursor to <paramref name="last"/>, in one commit; <paramref name="finished"/> ends it.
    /// </summary>
    ValueTask EnqueueAsync(string flow, string system, IReadOnlyList<RecordHead> records, RecordHead last, int looked, bool finished, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Ends a backfill that has no records left.</summary>
    ValueTask FinishAsync(string flow, DateTimeOffset now, CancellationToken cancellationToken);
}
