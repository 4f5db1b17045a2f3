namespace Lockstep.Reconciliation;

/// <summary>At most <c>rate</c> requests per second of the engine's clock, so a reconciliation cannot flood the target.</summary>
internal sealed class ReadPace(int rate, TimeProvider time)
{
    private long _windowStart = time.GetTimestamp();
    private int _inWindow;

    public async ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        if (_inWindow >= rate)
        {
            var elapsed = time.GetElapsedTime(_windowStart);
            if (elapsed < TimeSpan.FromSeconds(1)) await Task.Delay(TimeSpan.FromSeconds(1) - elapsed, time, cancellationToken).ConfigureAwait(false);
            _windowStart = time.GetTimestamp();
            _inWindow = 0;
        }
        _inWindow++;
    }
}
