using System.Diagnostics;

namespace Lockstep.Bench;

/// <summary>
/// Peak resident memory over one measured phase of an in-process scenario. The process's own peak (VmHWM) is reset at
/// the start where Linux allows it (<c>/proc/self/clear_refs</c>, "5"), so earlier scenarios do not count; VmRSS is
/// also sampled at 5 Hz, and the peak is the larger of the two.
/// </summary>
internal sealed class PeakRss : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    private long _sampled;

    public PeakRss()
    {
        HwmReset = TryResetHwm();
        Start = ProcessMemory.Rss();
        _sampled = Start;
        _sampler = Task.Run(SampleAsync);
    }

    /// <summary>RSS when the phase began: what the process (engine, in-process servers, earlier scenarios' heap) already held.</summary>
    public long Start { get; }

    /// <summary>True when VmHWM was reset at the start, so it belongs to this phase alone.</summary>
    public bool HwmReset { get; }

    public long Peak => Math.Max(Interlocked.Read(ref _sampled), HwmReset ? ProcessMemory.Peak() : 0);

    public string Describe() => (HwmReset ? "max of VmHWM (reset at start) and 5 Hz VmRSS samples" : "max of 5 Hz VmRSS samples (VmHWM could not be reset)")
        + $", RSS {ProcessMemory.Mb(Start)} at the start of the run";

    private async Task SampleAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var rss = ProcessMemory.Rss();
                if (rss > Interlocked.Read(ref _sampled)) Interlocked.Exchange(ref _sampled, rss);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private static bool TryResetHwm()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Debug.WriteLine($"clear_refs: {e.Message}");
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampler;
        _stop.Dispose();
    }
}
