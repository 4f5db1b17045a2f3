using Lockstep.Deliveries;

namespace Lockstep.Reconciliation;

/// <summary>What reconciliation needs from the journal: the delivered records of a flow, page by page, and repairs.</summary>
public interface IReconcileStore
{
    /// <summary>Up to <paramref name="limit"/> deliveries of the flow that are settled as delivered, after the id <paramref name="after"/>.</summary>
    ValueTask<IReadOnlyList<Delivery>> ListDeliveredAsync(string flow, long after, int limit, CancellationToken cancellationToken);

    /// <summary>The flow's records with these keys (any entity, any delivery state); keys the flow never routed are absent.</summary>
    ValueTask<IReadOnlyList<FlowRecord>> FindAsync(string flow, IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    /// <summary>Sends these records again (keyed apart by the run) unless they have moved on since.</summary>
    ValueTask<int> ScheduleRepairsAsync(IReadOnlyList<long> deliveryIds, long run, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Makes the flow's pending deliveries due now (a manual sync skips the backoff); returns how many.</summary>
    ValueTask<int> ExpediteAsync(string flow, DateTimeOffset now, CancellationToken cancellationToken);

    ValueTask SaveReportAsync(ReconcileReport report, CancellationToken cancellationToken);

    ValueTask<ReconcileReport?> LastReportAsync(string flow, CancellationToken cancellationToken);
}
