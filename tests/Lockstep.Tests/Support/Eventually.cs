namespace Lockstep.Tests.Support;

/// <summary>
/// Waits for a condition with a bounded timeout. It re-checks whenever a signal fires (a request reached the target,
/// outcomes were committed) and, as a fallback for changes nothing signals, at a short interval.
/// </summary>
internal static class Eventually
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    /// <param name="describe">What the timeout message shows of the state the condition saw last.</param>
    public static async Task WaitAsync(Func<Task<bool>> condition, string what, TimeSpan? limit = null, Signal? signal = null, Func<Task<string>>? describe = null)
    {
        using var timeout = new CancellationTokenSource(limit ?? Limit);
        while (!await condition())
        {
            if (timeout.IsCancellationRequested)
                throw new TimeoutException($"timed out waiting for: {what}{(describe is null ? "" : $" (last seen: {await describe()})")}");
            var wake = signal?.NextAsync() ?? Task.CompletedTask;
            try
            {
                await Task.WhenAny(wake, Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System, timeout.Token));
            }
            catch (OperationCanceledException)
            {
                // Checked at the top of the loop.
            }
        }
    }

    /// <summary>
    /// Moves fake time forward a step at a time until the condition holds: a timer the engine registers just after an
    /// advance is due a step later, so one advance alone could leave it waiting forever.
    /// </summary>
    public static async Task AdvanceUntilAsync(Microsoft.Extensions.Time.Testing.FakeTimeProvider time, TimeSpan step, Func<Task<bool>> condition, string what, Signal? signal = null)
    {
        using var timeout = new CancellationTokenSource(Limit);
        while (!await condition())
        {
            if (timeout.IsCancellationRequested) throw new TimeoutException($"timed out advancing time until: {what}");
            time.Advance(step);
            // Without a signal, wait the fallback interval: racing ahead would move fake time by years before the work
            // the advance released has even been scheduled.
            var recheck = Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System, timeout.Token);
            try
            {
                await (signal is null ? recheck : Task.WhenAny(signal.NextAsync(), recheck));
            }
            catch (OperationCanceledException)
            {
                // Checked at the top of the loop.
            }
        }
    }

    public static Task WaitAsync(Func<bool> condition, string what, TimeSpan? limit = null, Signal? signal = null) =>
        WaitAsync(() => Task.FromResult(condition()), what, limit, signal);
}

/// <summary>A pulse others can await: each <see cref="Pulse"/> completes the current wait.</summary>
internal sealed class Signal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Pulse() => Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public Task NextAsync() => Volatile.Read(ref _next).Task;
}
