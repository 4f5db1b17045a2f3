using Lockstep.Configuration;
using Lockstep.Events;
using Lockstep.Intake;
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

    /// <summary>One run: every page since the cursor, each committed with its cursor. Returns how many events were accepted.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
        var startedAt = _time.GetUtcNow();
        long items = 0, accepted = 0, rejected = 0;
        string? cursor = null;
        try
        {
            var position = await _cursors.ReadPositionAsync(_definition.Name, cancellationToken).ConfigureAwait(false);
            cursor = position.Cursor;
            var since = CursorValue.Since(cursor, _definition.Overlap);
            // A run that stopped at its page limit left the next page: this run goes on from there.
            var page = position.NextPage;
            for (var pages = 0; pages < _definition.MaxPages; pages++)
            {
                var fetch = await _source.FetchAsync(since, page, cancellationToken).ConfigureAwait(false);
                if (fetch.Error is not null)
                {
                    Fail(startedAt, cursor, items, accepted, rejected, fetch.Error);
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
                }
                // Checkpoint: this page's events, the cursor past them and the next page commit together.
                var statuses = await _cursors.AppendAsync(events, _definition.Name, new SourcePosition(cursor, fetch.NextPage), cancellationToken).ConfigureAwait(false);
                accepted += statuses.Count(s => s == AppendStatus.Accepted);
                if (accepted > 0) _work.Set();
                if (ConflictsCommitted is { } conflicts && statuses.Contains(AppendStatus.Conflict)) conflicts();
                if (fetch.NextPage is null) break;
                page = fetch.NextPage;
            }
            Volatile.Write(ref _status, Status with
            {
                State = "ok",
                LastRunAt = startedAt,
                LastOutcome = $"{items} items, {accepted} new",
                LastError = null,
                Cursor = cursor,
                Items = items,
                Accepted = accepted,
                Rejected = rejected,
            });
            return (int)accepted;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Fail(startedAt, cursor, items, accepted, rejected, $"{e.GetType().Name}: {e.Message}");
            return (int)accepted;
        }
        finally
        {
            _running.Release();
        }
    }

    private void Fail(DateTimeOffset startedAt, string? cursor, long items, long accepted, long rejected, string error)
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

    [LoggerMessage(3002, LogLevel.Warning, "Source {Source} skipped an item: {Error}")]
    private static partial void ItemRejected(ILogger logger, string source, string error);
}
