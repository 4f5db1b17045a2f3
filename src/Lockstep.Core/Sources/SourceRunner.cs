using Lockstep.Configuration;
using Lockstep.Events;
using Lockstep.Intake;
using Lockstep.Records;
using Microsoft.Extensions.Logging;

namespace Lockstep.Sources;

/// <summary>
/// Runs one poll source (never two runs at once; the schedule is a <see cref="Scheduling.ScheduledJob"/>): reads the persisted cursor, asks from it minus the
/// overlap (inclusive), pages through the answer up to the page limit, and appends each page's events together with the
/// new cursor, the largest cursor value seen in the data (never the local clock).
/// </summary>
internal sealed partial class SourceRunner : IAsyncDisposable
{
    private readonly SourceDefinition _definition;
    private readonly ISource _source;
    private readonly ICursorStore _cursors;
    private readonly ItemMapper _mapper;
    private readonly WorkSignal _work;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SecretRedactor _secrets;
    private const int VanishPage = 500;
    private readonly SemaphoreSlim _running = new(1, 1);
    private readonly Func<string, Event, Event>? _stamp;
    private SourceStatus _status;

    public SourceRunner(SourceDefinition definition, ISource source, ICursorStore cursors, MappingLimits limits, WorkSignal work,
        TimeProvider time, ILogger logger, SecretRedactor secrets, Func<string, Event, Event>? stamp = null)
    {
        _stamp = stamp;
        _definition = definition;
        _source = source;
        _cursors = cursors;
        _mapper = new ItemMapper(definition.Name, definition.Shape, limits);
        _work = work;
        _time = time;
        _logger = logger;
        _secrets = secrets;
        _status = new SourceStatus("idle", definition.Schedule?.ToString(), null, null, null, null, null, 0, 0, 0);
    }

    public string Name => _definition.Name;

    public SourceStatus Status => Volatile.Read(ref _status);

    /// <summary>Raised after a page's commit that recorded at least one two-way conflict.</summary>
    public event Action? ConflictsCommitted;

    /// <summary>
    /// One run: every page since the cursor, each committed with its cursor. A <paramref name="full"/> run reads from the
    /// start instead and, when the source says what to do with vanished records, looks for the ones it no longer returns.
    /// Returns how many events were accepted.
    /// </summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken, bool full = false)
    {
        await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
        var startedAt = _time.GetUtcNow();
        long items = 0, accepted = 0, rejected = 0, reordered = 0;
        string? cursor = null;
        // Full runs that look for vanished records keep the (entity, key) of every item returned: one string pair per record.
        var seen = full && _definition.Vanished != VanishedPolicy.Ignore ? new HashSet<(string, string)>() : null;
        try
        {
            var position = await _cursors.ReadPositionAsync(_definition.Name, cancellationToken).ConfigureAwait(false);
            cursor = position.Cursor;
            var since = full ? "" : CursorValue.Since(cursor, _definition.Overlap);
            // A run that stopped at its page limit left the next page: this run goes on from there. A full run starts
            // over and leaves that resume point to the incremental runs.
            var page = full ? null : position.NextPage;
            var complete = false;
            for (var pages = 0; pages < _definition.MaxPages; pages++)
            {
                var fetch = await _source.FetchAsync(since, page, cancellationToken).ConfigureAwait(false);
                if (fetch.Error is not null)
                {
                    Fail(startedAt, cursor, items, accepted, rejected, fetch.Error, reordered);
                    return (int)accepted;
                }
                var events = new List<Event>(fetch.Items.Count);
                foreach (var item in fetch.Items)
                {
                    items++;
                    var (e, itemCursor, error) = _mapper.Map(item);
                    if (error is not null)
                    {
                        rejected++;
                        ItemRejected(_logger, _definition.Name, _secrets.Redact(error) ?? "");
                        continue;
                    }
                    cursor = CursorValue.Max(cursor, itemCursor);
                    if (e is not null) events.Add(_stamp is null ? e : _stamp(_definition.Name, e));
                    if (e is not null) seen?.Add((e.Entity, e.Key));
                }
                // Checkpoint: this page's events, the cursor past them and the next page commit together.
                var statuses = await _cursors.AppendAsync(events, _definition.Name, new SourcePosition(cursor, full ? position.NextPage : fetch.NextPage), cancellationToken).ConfigureAwait(false);
                accepted += statuses.Count(s => s is AppendStatus.Accepted or AppendStatus.Reordered);
                reordered += statuses.Count(s => s == AppendStatus.Reordered);
                if (accepted > 0) _work.Set();
                if (ConflictsCommitted is { } conflicts && statuses.Contains(AppendStatus.Conflict)) conflicts();
                if (fetch.NextPage is null)
                {
                    complete = true;
                    break;
                }
                page = fetch.NextPage;
            }
            long? vanished = null;
            var note = "";
            if (seen is not null)
            {
                // Only a complete, cleanly read listing says a record is gone: a skipped item could be any of them.
                if (complete && rejected == 0)
                {
                    var (gone, deleted) = await VanishAsync(seen, cursor, position.NextPage, cancellationToken).ConfigureAwait(false);
                    vanished = gone;
                    accepted += deleted;
                    note = $", {vanished} vanished";
                }
                else note = ", vanished records not checked (the read was incomplete)";
            }
            if (reordered > 0)
            {
                OutOfOrderReported(_logger, _definition.Name, reordered);
                note = $", {reordered} out of order" + note;
            }
            Volatile.Write(ref _status, Status with
            {
                State = "ok",
                LastRunAt = startedAt,
                LastOutcome = $"{items} items, {accepted} new{note}",
                OutOfOrder = Status.OutOfOrder + reordered,
                LastError = null,
                Cursor = cursor,
                Items = items,
                Accepted = accepted,
                Rejected = rejected,
                Vanished = vanished ?? Status.Vanished,
            });
            return (int)accepted;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Fail(startedAt, cursor, items, accepted, rejected, $"{e.GetType().Name}: {e.Message}", reordered);
            return (int)accepted;
        }
        finally
        {
            _running.Release();
        }
    }

    /// <summary>
    /// Streams the records this source produced (newest version from it, not deleted) and counts those the full read did
    /// not return; with <c>vanished: delete</c> each becomes a delete event one version past the record's, committed a
    /// page at a time with the source's position unchanged. Its id is deterministic, so finding it again is a duplicate.
    /// </summary>
    private async Task<(long Vanished, long Accepted)> VanishAsync(HashSet<(string, string)> seen, string? cursor, string? nextPage, CancellationToken cancellationToken)
    {
        long vanished = 0, accepted = 0;
        ProducedRecord? after = null;
        while (true)
        {
            var records = await _cursors.ListProducedAsync(_definition.Name, after, VanishPage, cancellationToken).ConfigureAwait(false);
            if (records.Count == 0) break;
            after = records[^1];
            var deletes = new List<Event>();
            foreach (var record in records)
            {
                if (seen.Contains((record.Entity, record.Key))) continue;
                vanished++;
                var version = record.Version + 1;
                deletes.Add(new Event($"{_definition.Name}:{record.Entity}:{record.Key}:{version}:vanished", _definition.Shape.EventType,
                    record.Entity, record.Key, version, RecordOp.Delete, null));
            }
            if (_definition.Vanished != VanishedPolicy.Delete || deletes.Count == 0) continue;
            // Checkpoint: these deletes are journaled; the cursor and resume point stay where the read left them.
            var statuses = await _cursors.AppendAsync([.. deletes.Select(d => _stamp is null ? d : _stamp(_definition.Name, d))], _definition.Name,
                new SourcePosition(cursor, nextPage), cancellationToken).ConfigureAwait(false);
            accepted += statuses.Count(s => s is AppendStatus.Accepted or AppendStatus.Reordered);
            _work.Set();
        }
        return (vanished, accepted);
    }

    private void Fail(DateTimeOffset startedAt, string? cursor, long items, long accepted, long rejected, string error, long reordered = 0)
    {
        var redacted = _secrets.Redact(error);
        PollFailed(_logger, _definition.Name, redacted ?? "");
        Volatile.Write(ref _status, Status with
        {
            State = "failing",
            LastRunAt = startedAt,
            LastOutcome = "failed",
            LastError = redacted,
            Cursor = cursor,
            Items = items,
            Accepted = accepted,
            Rejected = rejected,
            OutOfOrder = Status.OutOfOrder + reordered,
        });
    }

    public async ValueTask DisposeAsync()
    {
        _mapper.Dispose();
        _running.Dispose();
        await _source.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(3001, LogLevel.Warning, "Source {Source} failed: {Error}")]
    private static partial void PollFailed(ILogger logger, string source, string error);

    [LoggerMessage(3003, LogLevel.Warning, "Source {Source} reported {Count} records with new content under a version not newer than the last one seen; each goes on as the newest state")]
    private static partial void OutOfOrderReported(ILogger logger, string source, long count);

    [LoggerMessage(3002, LogLevel.Warning, "Source {Source} skipped an item: {Error}")]
    private static partial void ItemRejected(ILogger logger, string source, string error);
}
