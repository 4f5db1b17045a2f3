using Lockstep.Configuration;

namespace Lockstep.Connectors;

/// <summary>
/// A connector that can write many record versions of one flow in one request. The engine groups claimed upserts of a
/// flow (never two versions of one record, as the journal hands out one version per record at a time), waits up to
/// <see cref="Linger"/> to fill a group, and takes one result per record back; deletes still go one by one through
/// <see cref="IConnector.ApplyAsync"/>. The same guarantees hold per record: upsert by key, its idempotency key, no retries.
/// </summary>
public interface IBatchConnector
{
    /// <summary>How long to wait to fill a batch for this flow; null when the flow sends one record per request.</summary>
    TimeSpan? Linger(FlowDefinition flow);

    /// <summary>The most records in one batch of this flow; null for the engine's <c>delivery.batchSize</c>.</summary>
    int? MaxBatch(FlowDefinition flow) => null;

    /// <summary>Writes the records; returns exactly one result per item, in the same order.</summary>
    ValueTask<IReadOnlyList<ConnectorResult>> ApplyBatchAsync(IReadOnlyList<BatchItem> items, FlowDefinition flow, CancellationToken cancellationToken);
}
