using Lockstep.Events;

namespace Lockstep.Journal;

/// <summary>
/// Where published events are stored and routed. Batch-first: durability (an fsync) is paid once per call, so the intake
/// queue gathers concurrent publishes and commits them together.
/// </summary>
public interface IIntakeStore
{
    /// <summary>Stores and routes events in one transaction; returns when it is committed, one status per event in order.</summary>
    ValueTask<IReadOnlyList<AppendStatus>> AppendAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken);

    /// <summary>
    /// Proves the store takes writes again: one durable commit that changes no data. The engine runs it, with backoff,
    /// after intake failed to commit, so readiness recovers by itself when the disk has room again.
    /// </summary>
    ValueTask CheckWriteAsync(CancellationToken cancellationToken);
}
