using Lockstep.Deliveries;
using Lockstep.Events;

namespace Lockstep.Journal;

/// <summary>
/// The durable store of events, record states and deliveries. Batch-first: durability (an fsync) is paid once per call,
/// so callers gather work and commit it together.
/// </summary>
public interface IJournal : IAsyncDisposable
{
    /// <summary>Opens the store, applies schema migrations, and makes deliveries that were in flight at a crash due again.</summary>
    ValueTask OpenAsync(CancellationToken cancellationToken);

    /// <summary>Stores and routes events in one transaction; returns when it is committed, one status per event in order.</summary>
    ValueTask<IReadOnlyList<AppendStatus>> AppendAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken);

    /// <summary>Marks up to each quota's count of due deliveries of that system in flight and returns them.</summary>
    ValueTask<IReadOnlyList<Delivery>> ClaimDueAsync(IReadOnlyList<ClaimQuota> quotas, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The earliest due time of a pending delivery to any of <paramref name="systems"/>, or null if none is pending.</summary>
    ValueTask<DateTimeOffset?> NextDueAsync(IReadOnlyCollection<string> systems, CancellationToken cancellationToken);

    /// <summary>Records attempts and outcomes, moves dead letters, emits completion events: all in one transaction.</summary>
    ValueTask CompleteAsync(IReadOnlyList<DeliveryCompletion> completions, CancellationToken cancellationToken);
}
