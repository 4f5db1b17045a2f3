namespace Lockstep.Deliveries;

/// <summary>
/// A system's adaptive concurrency limit (AIMD): how many requests may be in flight to it at once, between 1 and the
/// configured <c>concurrency</c>. A target that says it is overloaded — 429, an answer carrying Retry-After, or an attempt
/// that timed out — shrinks the limit by a quarter, at most once per <see cref="Window"/> (a burst of such answers is one
/// signal, as TCP treats the losses of one round trip); every <c>limit</c> successes while the limit is in use grow it by
/// one. Plain failures (a 503 without Retry-After, a reset connection) are not overload signals: they are retried with
/// the record's backoff and counted by the circuit, which opens only for a target that is really down. So a target
/// failing half its requests keeps its concurrency and is still served, one that asks to slow down gets fewer
/// requests, and one that is down gets a probe per break.
/// </summary>
internal sealed class ConcurrencyLimit : IDisposable
{
    /// <summary>How long after a decrease further overload signals are taken as part of the same one.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(100);

    private readonly SemaphoreSlim _slots;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly int _max;
    private int _limit;
    private int _held;      // permits taken out of circulation by decreases
    private int _owed;      // permits still to take out as requests finish
    private int _successes; // towards the next increase
    private long _lastDecrease = long.MinValue;

    public ConcurrencyLimit(int max, TimeProvider time)
    {
        _max = max;
        _limit = max;
        _time = time;
        _slots = new SemaphoreSlim(max, max);
    }

    /// <summary>The limit now.</summary>
    public int Current
    {
        get
        {
            lock (_lock) return _limit;
        }
    }

    public Task WaitAsync(CancellationToken cancellationToken) => _slots.WaitAsync(cancellationToken);

    /// <summary>Takes a slot if one is free now.</summary>
    public bool TryEnter() => _slots.Wait(0);

    /// <summary>Gives back the slot of a finished request (or keeps it out of circulation when the limit fell).</summary>
    public void Release()
    {
        lock (_lock)
        {
            if (_owed > 0)
            {
                _owed--;
                _held++;
                return;
            }
        }
        _slots.Release();
    }

    /// <summary>The target asked to slow down: a quarter fewer requests at once (at least one), once per window.</summary>
    public void Overloaded()
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            if (_lastDecrease != long.MinValue && _time.GetElapsedTime(_lastDecrease, now) < Window) return;
            _lastDecrease = now;
            var next = Math.Max(1, _limit - Math.Max(1, _limit / 4));
            _owed += _limit - next;
            _limit = next;
            _successes = 0;
            // Take what is free now; the rest as requests finish.
            while (_owed > 0 && _slots.Wait(0))
            {
                _owed--;
                _held++;
            }
        }
    }

    /// <summary>A request succeeded: after <c>limit</c> of them (one round of the limit), one more slot.</summary>
    public void Succeeded()
    {
        lock (_lock)
        {
            if (_limit >= _max || ++_successes < _limit) return;
            _successes = 0;
            _limit++;
            if (_owed > 0)
            {
                _owed--;
                return;
            }
            _held--;
        }
        _slots.Release();
    }

    public void Dispose() => _slots.Dispose();
}
