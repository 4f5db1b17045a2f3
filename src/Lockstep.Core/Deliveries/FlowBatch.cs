using Lockstep.Connectors;

namespace Lockstep.Deliveries;

/// <summary>
/// The upserts of one batched flow waiting to be sent together: a batch leaves when it is full, or when the linger
/// that started with its first delivery ends. A generation number tells a linger whether its batch already left.
/// </summary>
internal sealed class FlowBatch(IBatchConnector connector, TimeSpan linger, int max)
{
    private readonly Lock _lock = new();
    private List<Delivery> _pending = new(max);
    private long _generation;

    public IBatchConnector Connector { get; } = connector;

    public TimeSpan Linger { get; } = linger;

    /// <summary>Adds one delivery: returns the batch if that filled it, and whether it started a new batch (needing a linger).</summary>
    public (List<Delivery>? Full, long? Started) Add(Delivery delivery)
    {
        lock (_lock)
        {
            _pending.Add(delivery);
            var started = _pending.Count == 1 ? _generation : (long?)null;
            if (_pending.Count < max) return (null, started);
            return (Take(), null);
        }
    }

    /// <summary>The pending batch if it is still the one of <paramref name="generation"/>; null if it already left.</summary>
    public List<Delivery>? TakeIf(long generation)
    {
        lock (_lock)
        {
            return _generation == generation && _pending.Count > 0 ? Take() : null;
        }
    }

    private List<Delivery> Take()
    {
        var batch = _pending;
        _pending = new List<Delivery>(max);
        _generation++;
        return batch;
    }
}
