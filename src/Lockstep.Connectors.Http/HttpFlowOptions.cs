namespace Lockstep.Connectors.Http;

/// <summary>
/// A flow to an http system: the operation for an upsert and, optionally, for a delete and for reading a record back;
/// with <c>batch</c>, upserts go in groups as a JSON array, waiting up to <see cref="Linger"/> to fill a group; with
/// <c>list</c>, reconciliation reads every record the target holds, each keyed by the field <see cref="ListKey"/>.
/// </summary>
internal sealed record HttpFlowOptions(HttpOperation? Upsert, HttpOperation? Delete, HttpOperation? Get)
{
    public HttpOperation? Batch { get; init; }

    public TimeSpan Linger { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The most records per batch request; null for <c>delivery.batchSize</c>.</summary>
    public int? BatchSize { get; init; }

    public HttpListOperation? List { get; init; }

    public string? ListKey { get; init; }

    /// <summary>
    /// Set on a flow whose target assigns its own ids: creates go here, and the id is taken from the answer at
    /// <see cref="CreateId"/>; <see cref="Update"/>, <see cref="HttpFlowOptions.Delete"/> and <see cref="HttpFlowOptions.Get"/>
    /// address the record by <c>{targetId}</c>, found by <see cref="Lookup"/> when the identity map holds none.
    /// </summary>
    public HttpOperation? Create { get; init; }

    public JsonPath? CreateId { get; init; }

    public HttpOperation? Lookup { get; init; }

    public JsonPath? LookupId { get; init; }

    public HttpOperation? Update { get; init; }
}
