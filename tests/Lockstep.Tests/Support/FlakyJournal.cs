using System.Collections.Concurrent;
using System.Reflection;
using Lockstep.Deliveries;
using Lockstep.Journal;

namespace Lockstep.Tests.Support;

/// <summary>
/// Failure injection in front of a real journal: its first <see cref="FailCompletions"/> outcome commits throw (as a full
/// disk would) without reaching the journal; every other call goes through. Records what it committed.
/// </summary>
public class FlakyJournal : DispatchProxy
{
    private IJournal _inner = null!;
    private int _failuresLeft;
    private int _failed;

    /// <summary>Every outcome the real journal committed: (flow, key, version, kind).</summary>
    public ConcurrentQueue<(string Flow, string Key, long Version, CompletionKind Kind)> Committed { get; } = new();

    public int Failed => Volatile.Read(ref _failed);

    /// <summary>Pulses at each commit attempt, failed or not.</summary>
    internal Signal Attempted { get; } = new();

    internal static (IJournal Journal, FlakyJournal Control) Wrap(IJournal inner, int failCompletions)
    {
        var journal = Create<IJournal, FlakyJournal>();
        var control = (FlakyJournal)(object)journal;
        control._inner = inner;
        control._failuresLeft = failCompletions;
        return (journal, control);
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (targetMethod.Name == nameof(IJournal.CompleteAsync))
        {
            var completions = (IReadOnlyList<DeliveryCompletion>)args![0]!;
            if (Interlocked.Decrement(ref _failuresLeft) >= 0)
            {
                Interlocked.Increment(ref _failed);
                Attempted.Pulse();
                return Boxed(ValueTask.FromException(new IOException("No space left on device (injected)")));
            }
            return Boxed(CompleteAsync(completions, (CancellationToken)args[1]!));
        }
        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }

    // The proxy returns the call's result as an object; the caller awaits it once.
    private static object Boxed(ValueTask task) => task;

    private async ValueTask CompleteAsync(IReadOnlyList<DeliveryCompletion> completions, CancellationToken cancellationToken)
    {
        await _inner.CompleteAsync(completions, cancellationToken);
        foreach (var c in completions) Committed.Enqueue((c.Delivery.Flow, c.Delivery.Key, c.Delivery.Version, c.Kind));
        Attempted.Pulse();
    }
}
