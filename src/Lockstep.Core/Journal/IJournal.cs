using Lockstep.Conflicts;
using Lockstep.Reconciliation;
using Lockstep.Sources;

namespace Lockstep.Journal;

/// <summary>
/// The durable store, split by role (as Wolverine's message store exposes its inbox, outbox and dead letters): each role
/// is a small interface, and a backend provides every one of them. The engine asks for a role by its property, never by
/// probing the journal's type.
/// </summary>
public interface IJournal : IAsyncDisposable
{
    /// <summary>Opens the store and applies schema migrations; deliveries in flight at a crash become due again.</summary>
    ValueTask OpenAsync(CancellationToken cancellationToken);

    /// <summary>Events in: the group commit behind a publish.</summary>
    IIntakeStore Intake { get; }

    /// <summary>Deliveries out: claim what is due, commit outcomes.</summary>
    IDeliveryQueue Queue { get; }

    IDeadLetters DeadLetters { get; }

    /// <summary>Poll sources' positions, written with the events they produced.</summary>
    ICursorStore Cursors { get; }

    /// <summary>Two-way pairs: echo suppression, the base per record, conflicts.</summary>
    ISyncStore Sync { get; }

    IReconcileStore Reconcile { get; }

    IRetentionStore Retention { get; }

    /// <summary>The identity map: the target's own id per (flow, entity, key), for targets that assign ids on create.</summary>
    IIdentityStore Identities { get; }

    /// <summary>Backfills: sending what the journal already holds to a flow added later, page by key, resumable.</summary>
    Backfills.IBackfillStore Backfills { get; }

    /// <summary>The read model: counters, event and record history, the audit log.</summary>
    IJournalQueries Queries { get; }

    /// <summary>Operators' run-time controls: pauses of flows, systems and sources.</summary>
    Control.IControlStore Control { get; }

    /// <summary>
    /// Asks the journal to call <paramref name="wake"/> when another process (another node, <c>lockstep journal copy</c>) adds
    /// work; this process's own publishes wake its delivery loop directly. An embedded journal has no other writers.
    /// </summary>
    void WatchWork(Action wake)
    {
    }
}
