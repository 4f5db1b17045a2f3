using System.Diagnostics;
using System.Globalization;
using System.Text;
using Lockstep.Deliveries;
using Lockstep.Events;
using Lockstep.Journal;

namespace Lockstep.Bench;

/// <summary>
/// Wraps the journal the engine writes through and times each call (they all pass the journal's one write gate), so a
/// run can say where the single writer's time went: intake appends, claims, outcome commits, next-due look-ups.
/// The other roles (cursors, reconciliation, queries) pass through untimed.
/// </summary>
internal sealed class TimedJournal(IJournal inner) : IJournal, IIntakeStore, IDeliveryQueue
{
    private readonly Counter _append = new("append");
    private readonly Counter _claim = new("claim");
    private readonly Counter _complete = new("complete");
    private readonly Counter _nextDue = new("nextDue");
    private long _since = Stopwatch.GetTimestamp();

    public ValueTask OpenAsync(CancellationToken cancellationToken) => inner.OpenAsync(cancellationToken);

    public IIntakeStore Intake => this;

    public IDeliveryQueue Queue => this;

    public IDeadLetters DeadLetters => inner.DeadLetters;

    public Sources.ICursorStore Cursors => inner.Cursors;

    public Conflicts.ISyncStore Sync => inner.Sync;

    public Reconciliation.IReconcileStore Reconcile => inner.Reconcile;

    public IRetentionStore Retention => inner.Retention;

    public IJournalQueries Queries => inner.Queries;

    public Control.IControlStore Control => inner.Control;

    public IIdentityStore Identities => inner.Identities;

    public Backfills.IBackfillStore Backfills => inner.Backfills;

    public void WatchWork(Action wake) => inner.WatchWork(wake);

    public async ValueTask<IReadOnlyList<AppendStatus>> AppendAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var result = await inner.Intake.AppendAsync(events, cancellationToken);
        _append.Add(start, events.Count);
        return result;
    }

    public ValueTask CheckWriteAsync(CancellationToken cancellationToken) => inner.Intake.CheckWriteAsync(cancellationToken);

    public async ValueTask<IReadOnlyList<Delivery>> ClaimDueAsync(IReadOnlyList<ClaimQuota> quotas, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var result = await inner.Queue.ClaimDueAsync(quotas, now, cancellationToken);
        _claim.Add(start, result.Count);
        return result;
    }

    public async ValueTask<DateTimeOffset?> NextDueAsync(IReadOnlyCollection<string> systems, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var result = await inner.Queue.NextDueAsync(systems, cancellationToken);
        _nextDue.Add(start, 1);
        return result;
    }

    public async ValueTask CompleteAsync(IReadOnlyList<DeliveryCompletion> completions, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        await inner.Queue.CompleteAsync(completions, cancellationToken);
        _complete.Add(start, completions.Count);
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    /// <summary>Starts a new measuring window (after a warm-up).</summary>
    public void Reset()
    {
        foreach (var c in new[] { _append, _claim, _complete, _nextDue }) c.Reset();
        _since = Stopwatch.GetTimestamp();
    }

    /// <summary>One line per kind of call since the last <see cref="Reset"/>: calls, items per call, ms per call, share of wall time.</summary>
    public string Describe()
    {
        var wall = Stopwatch.GetElapsedTime(_since).TotalMilliseconds;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"journal calls over {wall / 1000:F2} s (time includes waiting for the write gate):");
        foreach (var c in new[] { _append, _claim, _complete, _nextDue })
        {
            var (calls, items, ms) = c.Read();
            if (calls == 0) continue;
            text.Append(CultureInfo.InvariantCulture,
                $" {c.Name} {calls:N0} calls × {(double)items / calls:F1} items, {ms / calls:F2} ms each, {100 * ms / wall:F0} % of wall;");
        }
        return text.ToString();
    }

    private sealed class Counter(string name)
    {
        private long _calls;
        private long _items;
        private long _ticks;

        public string Name => name;

        public void Add(long start, int items)
        {
            Interlocked.Add(ref _ticks, Stopwatch.GetTimestamp() - start);
            Interlocked.Increment(ref _calls);
            Interlocked.Add(ref _items, items);
        }

        public void Reset()
        {
            Interlocked.Exchange(ref _calls, 0);
            Interlocked.Exchange(ref _items, 0);
            Interlocked.Exchange(ref _ticks, 0);
        }

        public (long Calls, long Items, double Ms) Read() =>
            (Interlocked.Read(ref _calls), Interlocked.Read(ref _items), Interlocked.Read(ref _ticks) * 1000.0 / Stopwatch.Frequency);
    }
}
