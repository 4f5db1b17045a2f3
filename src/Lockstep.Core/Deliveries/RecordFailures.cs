namespace Lockstep.Deliveries;

/// <summary>
/// One system's records that are failing, so that its circuit opens on the system's failures and not on one record's.
/// An attempt at a record stands outside the circuit (its outcome is not counted either way) when the record's failure
/// is its own: the record failed before and the system has since served another record, or, while the circuit is
/// closed, the record's failure was already counted within the sampling window (the circuit needs failures of distinct
/// records; one record retried again and again is not an outage). A record leaves the list when it succeeds.
/// </summary>
internal sealed class RecordFailures(TimeSpan window, TimeProvider time)
{
    // Enough for any realistic set of records failing on their own; beyond it, failures are simply counted.
    private const int MaxRecords = 10_000;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Flow, string Entity, string Key), Failure> _failing = [];
    private long _successes;

    /// <summary>Whether an attempt at the delivery's record now tells nothing about the system (see the type's summary).</summary>
    public bool IsOwn(Delivery delivery, bool circuitClosed)
    {
        lock (_gate)
        {
            if (!_failing.TryGetValue(Id(delivery), out var failure)) return false;
            return failure.SuccessesBefore < _successes || (circuitClosed && time.GetUtcNow().UtcTicks - failure.AtTicks < window.Ticks);
        }
    }

    /// <summary>The system served a request (for <paramref name="delivery"/>'s record, or a batch when null).</summary>
    public void Succeeded(Delivery? delivery)
    {
        lock (_gate)
        {
            _successes++;
            if (delivery is not null) _failing.Remove(Id(delivery));
        }
    }

    /// <summary>An attempt the circuit counted failed.</summary>
    public void Failed(Delivery delivery)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow().UtcTicks;
            if (_failing.Count >= MaxRecords)
            {
                foreach (var (id, old) in _failing)
                {
                    if (now - old.AtTicks >= window.Ticks && old.SuccessesBefore == _successes) _failing.Remove(id);
                }
                if (_failing.Count >= MaxRecords) return;
            }
            _failing[Id(delivery)] = new Failure(_successes, now);
        }
    }

    private static (string, string, string) Id(Delivery delivery) => (delivery.Flow, delivery.Entity, delivery.Key);

    private readonly record struct Failure(long SuccessesBefore, long AtTicks);
}
