using Lockstep.Deliveries;

namespace Lockstep.Journal;

/// <summary>The deliveries waiting for their systems: claimed when due, completed with their outcomes.</summary>
public interface IDeliveryQueue
{
    /// <summary>Marks up to each quota's count of due deliveries of that system in flight and returns them.</summary>
    ValueTask<IReadOnlyList<Delivery>> ClaimDueAsync(IReadOnlyList<ClaimQuota> quotas, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The earliest due time of a pending delivery to any of <paramref name="systems"/>, or null if none is pending.</summary>
    ValueTask<DateTimeOffset?> NextDueAsync(IReadOnlyCollection<string> systems, CancellationToken cancellationToken);

    /// <summary>Records attempts and outcomes, moves dead letters, emits completion events: all in one transaction.</summary>
    ValueTask CompleteAsync(IReadOnlyList<DeliveryCompletion> completions, CancellationToken cancellationToken);
}
