using System.Threading.Channels;
using Lockstep.Configuration;

namespace Lockstep.Host;

/// <summary>
/// Reloading the configuration of <c>lockstep run</c> (SIGHUP, <c>POST /api/config/reload</c>, <c>lockstep reload</c>):
/// the file is loaded and validated first, with the same file:line errors as <c>lockstep validate</c>, and on an error
/// nothing changes. A valid one is handed to the run loop, which stops the engine gracefully (in-flight deliveries
/// finish) and starts one on the new configuration over the same journal.
/// </summary>
public sealed class ConfigReload(string path, Func<string, LockstepConfig> load, LockstepConfig current)
{
    private readonly Channel<LockstepConfig> _accepted = Channel.CreateBounded<LockstepConfig>(1);
    private readonly Lock _gate = new();
    private int _generation = 1;

    public string Path { get; } = path;

    /// <summary>1 at start, one more after each reload that took effect.</summary>
    public int Generation => Volatile.Read(ref _generation);

    public LockstepConfig Current { get; private set; } = current;

    /// <summary>Validates the file now; a valid one is queued for the run loop. Throws <see cref="ConfigException"/> (nothing changed) when invalid.</summary>
    public ReloadPlan Request()
    {
        var next = load(Path);
        lock (_gate)
        {
            if (!_accepted.Writer.TryWrite(next)) throw new InvalidOperationException("a reload is already under way; retry when it is done");
            var removed = Current.Flows.Select(f => f.Name).Except(next.Flows.Select(f => f.Name), StringComparer.Ordinal).ToList();
            var added = next.Flows.Select(f => f.Name).Except(Current.Flows.Select(f => f.Name), StringComparer.Ordinal).ToList();
            return new ReloadPlan(Generation + 1, added, removed);
        }
    }

    /// <summary>The next accepted configuration (for the run loop).</summary>
    public ValueTask<LockstepConfig> NextAsync(CancellationToken cancellationToken) => _accepted.Reader.ReadAsync(cancellationToken);

    /// <summary>The run loop started the engine on <paramref name="config"/>.</summary>
    public void Applied(LockstepConfig config)
    {
        Current = config;
        Interlocked.Increment(ref _generation);
    }
}

/// <summary>What an accepted reload will change: the generation it becomes, flows added and removed (whose work stays in the journal).</summary>
public sealed record ReloadPlan(int Generation, IReadOnlyList<string> AddedFlows, IReadOnlyList<string> RemovedFlows);
