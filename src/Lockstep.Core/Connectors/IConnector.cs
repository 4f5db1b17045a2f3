using Lockstep.Deliveries;

namespace Lockstep.Connectors;

/// <summary>
/// One external system. A connector applies one record version with upsert semantics keyed by the record, carries
/// <see cref="Delivery.IdempotencyKey"/>, and classifies failures; it never retries by itself (the engine does, durably).
/// </summary>
public interface IConnector : IAsyncDisposable
{
    /// <param name="delivery">The record version; <see cref="Delivery.Op"/> says upsert or delete.</param>
    /// <param name="flow">The flow it travels on, with the connector's own flow settings.</param>
    /// <param name="body">The mapped record as UTF-8 JSON; empty for a delete.</param>
    ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, Configuration.FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken);

    /// <summary>Reads what the target holds for the record, for reconciliation (the flow's read operation, e.g. <c>get</c>).</summary>
    ValueTask<TargetRead> ReadAsync(Delivery delivery, Configuration.FlowDefinition flow, CancellationToken cancellationToken);

    /// <summary>
    /// Reads one page of every record the target holds for the flow (its <c>list</c> operation), for reconciliation.
    /// <paramref name="nextPage"/> is null for the first page, else what the previous page returned.
    /// </summary>
    ValueTask<TargetPage> ListAsync(Configuration.FlowDefinition flow, string? nextPage, CancellationToken cancellationToken) =>
        ValueTask.FromResult(TargetPage.Failed("this connector cannot list a target's records"));
}
