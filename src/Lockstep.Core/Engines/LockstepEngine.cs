using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Deliveries;
using Lockstep.Events;
using Lockstep.Intake;
using Lockstep.Journal;
using Lockstep.Mapping;
using Lockstep.Status;
using Microsoft.Extensions.Logging;

namespace Lockstep.Engines;

/// <summary>
/// The engine: intake with group commit, the delivery loop, status and dead letters over one journal. The host, the CLI
/// and embedding applications all run this one type.
/// </summary>
public sealed class LockstepEngine : IAsyncDisposable
{
    private readonly IJournal _journal;
    private readonly IJournalQueries _queries;
    private readonly TimeProvider _time;
    private readonly WorkSignal _work = new();
    private readonly IntakeQueue _intake;
    private readonly DeliveryLoop _loop;
    private readonly List<SystemLane> _lanes;
    private readonly List<FlowScripts> _scripts;
    private readonly Dictionary<string, string> _flowSystems;
    private int _started;

    public LockstepEngine(
        LockstepConfig config, IJournal journal, IDeadLetters deadLetters, IJournalQueries queries,
        IReadOnlyDictionary<string, IConnector> connectors, TimeProvider time, ILoggerFactory logging)
    {
        Config = config;
        _journal = journal;
        DeadLetters = deadLetters;
        _queries = queries;
        _time = time;
        var lanes = config.Systems.Values.ToDictionary(
            s => s.Name, s => new SystemLane(s, connectors[s.Name], time, logging.CreateLogger("Lockstep.Systems")), StringComparer.Ordinal);
        _lanes = [.. lanes.Values];
        var flows = config.Flows.ToDictionary(
            f => f.Name, f => new FlowRuntime(f, new FlowScripts(f, config.Mapping), lanes[f.System]), StringComparer.Ordinal);
        _scripts = [.. flows.Values.Select(f => f.Scripts)];
        _flowSystems = config.Flows.ToDictionary(f => f.Name, f => f.System, StringComparer.Ordinal);
        _intake = new IntakeQueue(journal, _work, logging.CreateLogger("Lockstep.Intake"));
        _loop = new DeliveryLoop(journal, flows, _lanes, _work, time, logging.CreateLogger("Lockstep.Deliveries"), config.Secrets, config.Delivery);
        _loop.Committed += batch => Delivered?.Invoke(batch);
    }

    public LockstepConfig Config { get; }

    public IDeadLetters DeadLetters { get; }

    /// <summary>True once the journal is open and migrated and the loops run.</summary>
    public bool Ready => Volatile.Read(ref _started) == 1;

    /// <summary>Raised after each committed batch of delivery outcomes.</summary>
    public event Action<IReadOnlyList<DeliveryCompletion>>? Delivered;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _journal.OpenAsync(cancellationToken).ConfigureAwait(false);
        _intake.Start();
        _loop.Start();
        Volatile.Write(ref _started, 1);
    }

    /// <summary>Stops intake, lets in-flight requests finish until <paramref name="cancellationToken"/> fires, commits what finished.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 2) != 1) return;
        await _intake.StopAsync().ConfigureAwait(false);
        await _loop.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Commits the events durably, then answers; nothing is acknowledged before its commit.</summary>
    public ValueTask<AppendResult> PublishAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        if (!Ready) throw new InvalidOperationException("the engine is not running");
        return _intake.PublishAsync(events, cancellationToken);
    }

    public async ValueTask<StatusReport> StatusAsync(CancellationToken cancellationToken)
    {
        var counters = await _queries.CountersAsync(cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var lanes = _lanes.ToDictionary(l => l.Name, l => (l.Name, l.Circuit(now)), StringComparer.Ordinal);
        return StatusBuilder.Build(counters, _flowSystems.Keys, lanes, _flowSystems, now);
    }

    public ValueTask<EventView?> GetEventAsync(string id, CancellationToken cancellationToken) => _queries.GetEventAsync(id, cancellationToken);

    /// <summary>Replays dead letters with fresh attempts and wakes the delivery loop.</summary>
    public async ValueTask<int> ReplayAsync(string? flow, IReadOnlyCollection<long>? ids, CancellationToken cancellationToken)
    {
        var count = await DeadLetters.ReplayAsync(flow, ids, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        _work.Set();
        return count;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        foreach (var lane in _lanes) await lane.DisposeAsync().ConfigureAwait(false);
        foreach (var scripts in _scripts) scripts.Dispose();
        _loop.Dispose();
        await _journal.DisposeAsync().ConfigureAwait(false);
    }
}
