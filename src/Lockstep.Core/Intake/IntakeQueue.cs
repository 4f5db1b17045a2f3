using System.Threading.Channels;
using Lockstep.Events;
using Lockstep.Journal;
using Microsoft.Extensions.Logging;

namespace Lockstep.Intake;

/// <summary>
/// Group commit for intake: callers hand over their events and wait; one loop commits everything queued so far in one
/// journal transaction (one fsync) and only then acknowledges each caller.
/// </summary>
internal sealed partial class IntakeQueue(IIntakeStore journal, WorkSignal work, ILogger logger, int maxEventsPerCommit = 4096,
    Status.JournalHealth? health = null, Configuration.SecretRedactor? secrets = null)
{
    private readonly Channel<PendingAppend> _appends =
        Channel.CreateBounded<PendingAppend>(new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private Task? _loop;

    /// <summary>Raised after a commit that recorded at least one two-way conflict.</summary>
    public event Action? ConflictsCommitted;

    public void Start() => _loop = Task.Run(RunAsync);

    public async ValueTask<AppendResult> PublishAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken) =>
        AppendResult.From(await PublishStatusesAsync(events, cancellationToken).ConfigureAwait(false));

    /// <summary>Like <see cref="PublishAsync"/>, with each event's status in order.</summary>
    public async ValueTask<IReadOnlyList<AppendStatus>> PublishStatusesAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        var append = new PendingAppend(events);
        await _appends.Writer.WriteAsync(append, cancellationToken).ConfigureAwait(false);
        // Not cancelled once queued: the caller learns whether it was committed, which it needs for its retry.
        return await append.Committed.Task.ConfigureAwait(false);
    }

    public async Task StopAsync()
    {
        _appends.Writer.TryComplete();
        if (_loop is not null) await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var batch = new List<PendingAppend>();
        var events = new List<Event>();
        while (await _appends.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            events.Clear();
            while (events.Count < maxEventsPerCommit && _appends.Reader.TryRead(out var append))
            {
                batch.Add(append);
                events.AddRange(append.Events);
            }
            IReadOnlyList<AppendStatus> statuses;
            using var activity = Telemetry.LockstepActivities.Source.StartActivity("lockstep.intake");
            activity?.SetTag("lockstep.events", events.Count);
            activity?.SetTag("lockstep.publishers", batch.Count);
            try
            {
                statuses = await journal.AppendAsync(events, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, e.GetType().Name);
                CommitFailed(logger, events.Count, e.GetType().Name);
                // Checkpoint: nothing of the batch is stored (one transaction). The callers hear "unavailable, retry" (503), never "accepted".
                health?.Failed(Status.JournalWriter.Intake, $"intake: {e.GetType().Name}: {(secrets ?? Configuration.SecretRedactor.None).Redact(e.Message)}");
                var unavailable = new JournalUnavailableException("the journal cannot commit right now (is its disk full or read-only?); nothing was stored", e);
                foreach (var failed in batch) failed.Committed.TrySetException(unavailable);
                continue;
            }
            health?.Succeeded(Status.JournalWriter.Intake);
            // Checkpoint: committed. From here every caller in the batch may be told its events are accepted.
            var offset = 0;
            foreach (var done in batch)
            {
                var mine = new AppendStatus[done.Events.Count];
                for (var i = 0; i < mine.Length; i++) mine[i] = statuses[offset + i];
                offset += mine.Length;
                done.Committed.TrySetResult(mine);
            }
            work.Set();
            if (ConflictsCommitted is { } conflicts && statuses.Contains(AppendStatus.Conflict)) conflicts();
        }
    }

    private sealed class PendingAppend(IReadOnlyList<Event> events)
    {
        public IReadOnlyList<Event> Events { get; } = events;

        public TaskCompletionSource<IReadOnlyList<AppendStatus>> Committed { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(1001, LogLevel.Error, "Journal append of {Count} events failed ({Error}); the publishers were told it failed")]
    private static partial void CommitFailed(ILogger logger, int count, string error);
}
