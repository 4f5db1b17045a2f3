namespace Lockstep.Status;

/// <summary>Running totals since start, for metrics: what intake received and what sources and reconciliations ran.</summary>
public sealed class EngineCounters
{
    private long _accepted;
    private long _duplicates;
    private long _stale;
    private long _pollRuns;
    private long _reconcileRuns;
    private long _prunedEvents;
    private long _pruneRuns;

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long Stale => Interlocked.Read(ref _stale);

    public long PollRuns => Interlocked.Read(ref _pollRuns);

    public long ReconcileRuns => Interlocked.Read(ref _reconcileRuns);

    /// <summary>Retention runs, and the events they deleted.</summary>
    public long PruneRuns => Interlocked.Read(ref _pruneRuns);

    public long PrunedEvents => Interlocked.Read(ref _prunedEvents);

    internal void Add(Events.AppendResult result)
    {
        Interlocked.Add(ref _accepted, result.Accepted);
        Interlocked.Add(ref _duplicates, result.Duplicates);
        Interlocked.Add(ref _stale, result.Stale);
    }

    internal void PollRan() => Interlocked.Increment(ref _pollRuns);

    internal void Pruned(Journal.PruneResult result)
    {
        Interlocked.Add(ref _prunedEvents, result.Events);
        Interlocked.Increment(ref _pruneRuns);
    }

    internal void ReconcileRan() => Interlocked.Increment(ref _reconcileRuns);
}
