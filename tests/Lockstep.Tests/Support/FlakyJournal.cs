using System.Collections.Concurrent;
using Lockstep.Conflicts;
using Lockstep.Deliveries;
using Lockstep.Journal;
using Lockstep.Reconciliation;
using Lockstep.Sources;

namespace Lockstep.Tests.Support;

/// <summary>
/// Failure injection in front of a real journal: its first <c>failCompletions</c> outcome commits throw (as a full disk
/// would) without reaching the journal; every other call goes through. Records what it committed.
/// </summary>
public sealed class FlakyJournal(IJournal inner, int failCompletions) : IJournal, IDeliveryQueue
{
    private int _failuresLeft = failCompletions;
    private int _failed;

    /// <summary>Every outcome the real journal committed: (flow, key, version, kind).</summary>
    public ConcurrentQueue<(string Flow, string Key, long Version, CompletionKind Kind)> Committed { get; } = new();

    public int Failed => Volatile.Read(ref _failed);

    /// <summary>Pulses at each commit attempt, failed or not.</summary>
    internal Signal Attempted { get; } = new();

    public IIntakeStore Intake => inner.Intake;

    public IDeliveryQueue Queue => this;

    public IDeadLetters DeadLetters => inner.DeadLetters;

    public ICursorStore Cursors => inner.Cursors;

    public ISyncStore Sync => inner.Sync;

    public IReconcileStore Reconcile => inner.Reconcile;

    public IRetentionStore Retention => inner.Retention;

    public IJournalQueries Queries => inner.Queries;

    public Lockstep.Control.IControlStore Control => inner.Control;

    public IIdentityStore Identities => inner.Identities;

    public Lockstep.Backfills.IBackfillStore Backfills => inner.Backfills;

    public ValueTask OpenAsync(CancellationToken cancellationToken) => inner.OpenAsync(cancellationToken);

    public ValueTask<IReadOnlyList<Delivery>> ClaimDueAsync(IReadOnlyList<ClaimQuota> quotas, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.Queue.ClaimDueAsync(quotas, now, cancellationToken);

    public ValueTask<DateTimeOffset?> NextDueAsync(IReadOnlyCollection<string> systems, CancellationToken cancellationToken) =>
        inner.Queue.NextDueAsync(systems, cancellationToken);

    public async ValueTask CompleteAsync(IReadOnlyList<DeliveryCompletion> completions, CancellationToken cancellationToken)
    {
        if (Interlocked.Decrement(ref _failuresLeft) >= 0)
        {
            Interlocked.Increment(ref _failed);
            Attempted.Pulse();
            throw new IOException("No space left on device (injected)");
        }
        await inner.Queue.CompleteAsync(completions, cancellationToken);
        foreach (var c in completions) Committed.Enqueue((c.Delivery.Flow, c.Delivery.Key, c.Delivery.Version, c.Kind));
        Attempted.Pulse();
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
