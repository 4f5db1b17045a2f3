namespace Lockstep.Intake;

/// <summary>
/// Wakes the delivery loop when new work may be claimable. Reset before looking for work, wait after finding none:
/// a signal set in between is never lost.
/// </summary>
public sealed class WorkSignal
{
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set() => Volatile.Read(ref _signal).TrySetResult();

    public void Reset()
    {
        var current = Volatile.Read(ref _signal);
        if (current.Task.IsCompleted)
            Interlocked.CompareExchange(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
    }

    public Task WaitAsync() => Volatile.Read(ref _signal).Task;
}
