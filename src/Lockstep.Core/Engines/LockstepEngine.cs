using System.Threading.Channels;
using Lockstep.Configuration;
using Lockstep.Conflicts;
using Lockstep.Connectors;
using Lockstep.Deliveries;
using Lockstep.Events;
using Lockstep.Intake;
using Lockstep.Journal;
using Lockstep.Mapping;
using Lockstep.Reconciliation;
using Lockstep.Scheduling;
using Lockstep.Sources;
using Lockstep.Status;
using Microsoft.Extensions.Logging;

namespace Lockstep.Engines;

/// <summary>
/// The engine: intake with group commit, the delivery loop, status and dead letters over one journal. The host, the CLI
/// and embedding applications all run this one type.
/// </summary>
public sealed partial class LockstepEngine : IAsyncDisposable
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
    private readonly Dictionary<string, SourceRunner> _polls = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WebhookReceiver> _webhooks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SubscriptionRunner> _subscriptions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ScheduledJob> _jobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Reconciler> _reconcilers = new(StringComparer.Ordinal);
    private readonly IReconcileStore _reconcileStore;
    private readonly ISyncStore? _syncStore;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _schedules = [];
    private readonly Notifications.NoticeBoard _notices;
    private readonly Channel<bool>? _conflictsWake;
    private readonly JournalHealth _health;
    private readonly Routing.UnroutedEvents _unrouted;
    private readonly Channel<bool> _checkWake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Control.Pauses _pauses = new();
    private readonly Backfills.Backfiller _backfiller;
    private long _conflictsSeen;
    private int _started;

    /// <summary>An engine without sources, notifiers or subscriptions.</summary>
    public LockstepEngine(LockstepConfig config, IJournal journal, IReadOnlyDictionary<string, IConnector> connectors, TimeProvider time, ILoggerFactory logging)
        : this(config, journal, connectors, new Dictionary<string, ISource>(), time, logging)
    {
    }

    public LockstepEngine(
        LockstepConfig config, IJournal journal,
        IReadOnlyDictionary<string, IConnector> connectors, IReadOnlyDictionary<string, ISource> sources, TimeProvider time, ILoggerFactory logging,
        IReadOnlyDictionary<string, Notifications.INotifier>? notifiers = null, IReadOnlyDictionary<string, ISubscription>? subscriptions = null)
    {
        Config = config;
        _journal = journal;
        DeadLetters = journal.DeadLetters;
        _queries = journal.Queries;
        _reconcileStore = journal.Reconcile;
        _time = time;
        var lanes = config.Systems.Values.ToDictionary(
            s => s.Name, s => new SystemLane(s, connectors[s.Name], time, logging.CreateLogger("Lockstep.Systems"), config.Delivery.BatchSize), StringComparer.Ordinal);
        _lanes = [.. lanes.Values];
        var flows = config.Flows.ToDictionary(
            f => f.Name, f => new FlowRuntime(f, new FlowScripts(f, config.Mapping), lanes[f.System]), StringComparer.Ordinal);
        _scripts = [.. flows.Values.Select(f => f.Scripts)];
        _flowSystems = config.Flows.ToDictionary(f => f.Name, f => f.System, StringComparer.Ordinal);
        _health = new JournalHealth(time, logging.CreateLogger("Lockstep.Journal"));
        _health.WriterFailed += writer =>
        {
            if (writer == JournalWriter.Intake) _checkWake.Writer.TryWrite(true);
        };
        _unrouted = new Routing.UnroutedEvents(new Routing.FlowRouter(config.Flows), logging.CreateLogger("Lockstep.Intake"));
        _backfiller = new Backfills.Backfiller(journal.Backfills, config.Flows, _work, time, logging.CreateLogger("Lockstep.Backfills"));
        _intake = new IntakeQueue(journal.Intake, _work, logging.CreateLogger("Lockstep.Intake"), health: _health, secrets: config.Secrets);
        journal.WatchWork(_work.Set);
        Func<string, Event, Event>? stamp = null;
        if (config.Sync.Count > 0)
        {
            _syncStore = journal.Sync;
            var gate = new SyncGate(config.Sync, flows);
            _syncStore.UsePairs(config.Sync, gate.Hash);
            stamp = gate.Stamp;
        }
        var pairFlows = config.Sync.SelectMany(p => new[] { p.Source.Flow, p.Target.Flow }).ToHashSet(StringComparer.Ordinal);
        _loop = new DeliveryLoop(journal.Queue, flows, _lanes, _work, time, logging.CreateLogger("Lockstep.Deliveries"), config.Secrets, config.Delivery, pairFlows, _health)
        {
            Pauses = _pauses,
        };
        _loop.Committed += batch => Delivered?.Invoke(batch);
        _notices = new Notifications.NoticeBoard(
            [.. config.Notify.Where(c => notifiers?.ContainsKey(c.Name) == true).Select(c => (c, notifiers![c.Name]))], time, logging.CreateLogger("Lockstep.Notifications"));
        _loop.Committed += batch =>
        {
            foreach (var c in batch)
            {
                if (c.Kind == CompletionKind.Dead)
                    _notices.Post(Notifications.NoticeKind.Dead, c.Delivery.System, "dead letters", $"{c.Delivery.Flow}: {c.Delivery.Entity}/{c.Delivery.Key} v{c.Delivery.Version}: {c.Error}");
            }
        };
        if (_syncStore is not null && config.Notify.Any(c => c.On.Contains(Notifications.NoticeKind.Conflict)))
        {
            _conflictsWake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
            _intake.ConflictsCommitted += () => _conflictsWake.Writer.TryWrite(true);
        }
        _health.Changed += (writable, error) => _notices.Post(Notifications.NoticeKind.Journal, "journal",
            writable ? "journal writable again" : "journal unwritable",
            writable ? $"the journal takes writes again at {_time.GetUtcNow():O}" : $"the journal cannot be written since {_time.GetUtcNow():O}: {error}");
        foreach (var lane in _lanes)
            lane.CircuitChanged += (system, state) => _notices.Post(Notifications.NoticeKind.Circuit, system, $"circuit {state}", $"circuit {state} at {_time.GetUtcNow():O}");

        var jobLogger = logging.CreateLogger("Lockstep.Scheduling");
        var sourceLogger = logging.CreateLogger("Lockstep.Sources");
        foreach (var source in config.Sources)
        {
            if (source.Kind == SourceKind.Subscription)
            {
                var subscription = subscriptions?.GetValueOrDefault(source.Name) ?? throw new InvalidOperationException($"no subscription was built for source '{source.Name}'");
                var consumer = new SubscriptionRunner(source, subscription, _intake, config.Mapping, time, sourceLogger, config.Secrets, stamp);
                consumer.Accepted += () => Counters.Add(new AppendResult(1, 0, 0));
                _subscriptions[source.Name] = consumer;
                continue;
            }
            if (source.Kind == SourceKind.Webhook)
            {
                _webhooks[source.Name] = new WebhookReceiver(source, _intake, config.Mapping, time, sourceLogger, stamp);
                continue;
            }
            var runner = new SourceRunner(source, sources[source.Name], journal.Cursors, config.Mapping, _work, time, sourceLogger, config.Secrets, stamp);
            _polls[source.Name] = runner;
            if (_conflictsWake is { } wake) runner.ConflictsCommitted += () => wake.Writer.TryWrite(true);
            _jobs[source.Name] = new ScheduledJob(source.Name, source.Schedule, ct => PollAsync(runner, full: false, ct), time, jobLogger);
            _jobs["full:" + source.Name] = new ScheduledJob("full:" + source.Name, null, ct => PollAsync(runner, full: true, ct), time, jobLogger);
        }
        foreach (var entry in config.Schedules)
        {
            _jobs["schedule:" + entry.Name] = new ScheduledJob("schedule:" + entry.Name, entry.Schedule,
                async ct => (await SyncAsync(entry.Run, entry.Full, ct).ConfigureAwait(false))?.Outcome ?? "nothing to run", time, jobLogger);
        }
        if (config.Retention is { } retention)
        {
            var store = journal.Retention;
            _jobs["retention"] = new ScheduledJob("retention", new Schedule(retention.Every, null, TimeZoneInfo.Utc, TimeSpan.Zero, $"every {retention.Every}"), async ct =>
            {
                var pruned = await store.PruneAsync(retention, _time.GetUtcNow(), ct).ConfigureAwait(false);
                Counters.Pruned(pruned);
                return $"pruned {pruned.Events} events, {pruned.Attempts} attempts, {pruned.Audit} audit rows";
            }, time, jobLogger);
        }
        foreach (var flow in config.Flows.Where(f => f.Reconcile is not null))
        {
            var reconciler = new Reconciler(flows[flow.Name], _reconcileStore, time);
            _reconcilers[flow.Name] = reconciler;
            _jobs["reconcile:" + flow.Name] = new ScheduledJob("reconcile:" + flow.Name, flow.Reconcile!.Schedule, async ct =>
            {
                var report = await ReconcileAsync(reconciler, ct).ConfigureAwait(false);
                return Summary(report);
            }, time, jobLogger);
        }
    }

    public LockstepConfig Config { get; }

    /// <summary>Totals since start, for metrics.</summary>
    public EngineCounters Counters { get; } = new();

    public IDeadLetters DeadLetters { get; }

    /// <summary>True once the journal is open and migrated and the loops run.</summary>
    public bool Ready => Volatile.Read(ref _started) == 1;

    /// <summary>
    /// False while the journal cannot be written (a full disk, a read-only file): publishing answers 503 and delivery
    /// outcomes wait in memory. It becomes true again by itself once a write succeeds.
    /// </summary>
    public bool JournalWritable => _health.Writable;

    /// <summary>Whether the journal takes writes, what failed, and how many delivery outcomes wait to be committed.</summary>
    public JournalStatus JournalStatus => _health.Status(_loop.Uncommitted);

    /// <summary>Raised after each committed batch of delivery outcomes.</summary>
    public event Action<IReadOnlyList<DeliveryCompletion>>? Delivered;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _journal.OpenAsync(cancellationToken).ConfigureAwait(false);
        // Before any loop runs: a pause set before a restart holds from the first claim on.
        _pauses.Load(await _journal.Control.ListPausesAsync(cancellationToken).ConfigureAwait(false));
        await _backfiller.DetectNewFlowsAsync(cancellationToken).ConfigureAwait(false);
        if (_conflictsWake is not null)
        {
            // Conflicts recorded before this start are not news; the ones intake records from now on are.
            var newest = await _syncStore!.ListConflictsAsync(null, openOnly: false, 1, cancellationToken).ConfigureAwait(false);
            _conflictsSeen = newest.Count > 0 ? newest[0].Id : 0;
            _schedules.Add(Task.Run(() => WatchConflictsAsync(_conflictsWake, _stopping.Token), CancellationToken.None));
        }
        _intake.Start();
        _loop.Start();
        foreach (var job in _jobs.Values) _schedules.Add(Task.Run(() => job.RunScheduleAsync(_stopping.Token), CancellationToken.None));
        foreach (var consumer in _subscriptions.Values) _schedules.Add(Task.Run(() => consumer.RunAsync(_stopping.Token), CancellationToken.None));
        _schedules.Add(Task.Run(() => _notices.RunAsync(_stopping.Token), CancellationToken.None));
        _schedules.Add(Task.Run(() => CheckWritesAsync(_stopping.Token), CancellationToken.None));
        _schedules.Add(Task.Run(() => _backfiller.RunAsync(_stopping.Token), CancellationToken.None));
        Volatile.Write(ref _started, 1);
    }

    /// <summary>Stops intake, lets in-flight requests finish until <paramref name="cancellationToken"/> fires, commits what finished.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 2) != 1) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_schedules).ConfigureAwait(false);
        await _intake.StopAsync().ConfigureAwait(false);
        await _loop.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>lockstep backfill FLOW</c>: sends the newest state of every record already in the journal to the flow (a record
    /// it already has a delivery for is left alone), in the background; false when no flow has that name.
    /// </summary>
    public async Task<bool> BackfillAsync(string flow, CancellationToken cancellationToken)
    {
        if (!_flowSystems.ContainsKey(flow)) return false;
        await _backfiller.BeginAsync(flow, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Whether an event's <c>targets</c> may name <paramref name="name"/>: a flow, or a system some flow writes to.</summary>
    public bool IsTarget(string name) => _flowSystems.ContainsKey(name) || _flowSystems.ContainsValue(name);

    /// <summary>Commits the events durably, then answers; nothing is acknowledged before its commit.</summary>
    public async ValueTask<AppendResult> PublishAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        if (!Ready) throw new InvalidOperationException("the engine is not running");
        var statuses = await _intake.PublishStatusesAsync(events, cancellationToken).ConfigureAwait(false);
        var (unrouted, types) = _unrouted.Count(events, statuses);
        var result = AppendResult.From(statuses) with { Unrouted = unrouted, UnroutedTypes = types };
        Counters.Add(result);
        return result;
    }

    public async ValueTask<StatusReport> StatusAsync(CancellationToken cancellationToken)
    {
        var counters = await _queries.CountersAsync(cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var lanes = _lanes.ToDictionary(l => l.Name, l => (l.Name, l.Circuit(now)), StringComparer.Ordinal);
        var report = StatusBuilder.Build(counters, _flowSystems.Keys, lanes, _flowSystems, now);
        var journal = JournalStatus;
        report = report with
        {
            Journal = journal,
            State = journal.State == JournalStatus.Ok ? report.State : SyncState.Failing,
            Unrouted = new UnroutedStatus(_unrouted.Total, _unrouted.Types),
        };
        var systems = new SortedDictionary<string, TargetStatus>(StringComparer.Ordinal);
        foreach (var (name, system) in report.Systems)
        {
            var lane = _lanes.Find(l => l.Name == name);
            systems[name] = lane is null ? system : system with
            {
                ConcurrencyLimit = lane.Limit,
                NextProbeAt = lane.Circuit(now) == CircuitState.Open ? lane.OpenUntil : null,
            };
        }
        report = report with { Systems = systems };
        if (_reconcilers.Count > 0)
        {
            var flows = new SortedDictionary<string, TargetStatus>(report.Flows.ToDictionary(f => f.Key, f => f.Value), StringComparer.Ordinal);
            foreach (var name in _reconcilers.Keys)
            {
                var last = await _reconcileStore.LastReportAsync(name, cancellationToken).ConfigureAwait(false);
                var job = _jobs["reconcile:" + name].Status;
                flows[name] = flows[name] with { LastReconcile = last, NextReconcileAt = job.NextRunAt };
            }
            report = report with { Flows = flows };
        }
        if (_jobs.Keys.Any(k => k.StartsWith("schedule:", StringComparison.Ordinal)))
        {
            report = report with
            {
                Schedules = _jobs.Where(j => j.Key.StartsWith("schedule:", StringComparison.Ordinal))
                    .ToDictionary(j => j.Key["schedule:".Length..], j => j.Value.Status, StringComparer.Ordinal),
            };
        }
        var backfills = await _journal.Backfills.ListAsync(cancellationToken).ConfigureAwait(false);
        if (backfills.Count > 0)
        {
            var flows = new SortedDictionary<string, TargetStatus>(report.Flows.ToDictionary(f => f.Key, f => f.Value), StringComparer.Ordinal);
            foreach (var backfill in backfills.Where(b => flows.ContainsKey(b.Flow))) flows[backfill.Flow] = flows[backfill.Flow] with { Backfill = backfill };
            report = report with { Flows = flows };
            // Records not yet looked at are still to be sent: not synced until every backfill finished.
            if (report.State == SyncState.Synced && backfills.Any(b => b.FinishedAt is null && flows.ContainsKey(b.Flow))) report = report with { State = SyncState.Pending };
        }
        if (_syncStore is not null) report = report with { Pairs = await _syncStore.PairStatusAsync(cancellationToken).ConfigureAwait(false) };
        if (_polls.Count + _webhooks.Count + _subscriptions.Count > 0)
        {
            var sources = new SortedDictionary<string, SourceStatus>(StringComparer.Ordinal);
            foreach (var (name, runner) in _polls) sources[name] = runner.Status with { NextRunAt = _jobs[name].Status.NextRunAt };
            foreach (var (name, receiver) in _webhooks) sources[name] = receiver.Status;
            foreach (var (name, consumer) in _subscriptions) sources[name] = consumer.Status;
            report = report with { Sources = sources };
        }
        return await WithControlAsync(report, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>lockstep sync NAME [--full]</c>: a poll source polls now; a flow's pending deliveries become due now, and with
    /// <paramref name="full"/> the flow is reconciled now. Null when no source or flow has that name.
    /// </summary>
    public async Task<SyncOutcome?> SyncAsync(string name, bool full, CancellationToken cancellationToken)
    {
        if (_polls.ContainsKey(name))
            return new SyncOutcome(name, "source", await _jobs[(full ? "full:" : "") + name].RunNowAsync(cancellationToken).ConfigureAwait(false), null);
        if (!_flowSystems.ContainsKey(name)) return _lanes.Any(l => l.Name == name) && !full ? await RetryNowAsync(name, "system", cancellationToken).ConfigureAwait(false) : null;
        if (!full) return (await RetryNowAsync(name, "flow", cancellationToken).ConfigureAwait(false))!;
        if (!_reconcilers.TryGetValue(name, out var reconciler))
            throw new InvalidOperationException($"flow '{name}' has no 'reconcile:' settings (and its connector's read operation), so it cannot be reconciled");
        var report = await ReconcileAsync(reconciler, cancellationToken).ConfigureAwait(false);
        return new SyncOutcome(name, "flow", Summary(report), report);
    }

    /// <summary>A run's counts in one line; extras only where the flow can find them (it lists the target).</summary>
    private string Summary(ReconcileReport report) =>
        $"checked {report.Checked}, missing {report.Missing}, different {report.Different}, "
        + (Config.Flows.First(f => f.Name == report.Flow).Reconcile is { List: true } ? $"extra {report.Extra}, " : "")
        + $"repaired {report.Repaired}";

    private async Task<string> PollAsync(SourceRunner runner, bool full, CancellationToken cancellationToken)
    {
        if (_pauses.Get(Control.PauseKind.Source, runner.Name) is { } pause) return $"not polled: paused by {pause.By}";
        var accepted = await runner.RunOnceAsync(cancellationToken, full).ConfigureAwait(false);
        Counters.PollRan();
        if (runner.Status.State == "failing")
            _notices.Post(Notifications.NoticeKind.Source, runner.Name, "source failing", $"{runner.Name}: {runner.Status.LastError}");
        Counters.Add(new AppendResult(accepted, 0, 0));
        return runner.Status.Vanished is { } vanished && full ? $"{accepted} new events, {vanished} vanished" : $"{accepted} new events";
    }

    private async Task<ReconcileReport> ReconcileAsync(Reconciler reconciler, CancellationToken cancellationToken)
    {
        var report = await reconciler.RunAsync(cancellationToken).ConfigureAwait(false);
        Counters.ReconcileRan();
        if (report.Missing + report.Different + report.Extra > 0)
            _notices.Post(Notifications.NoticeKind.Drift, _flowSystems[report.Flow], "reconciliation drift", $"{report.Flow}: {Summary(report)}",
                report.Missing + report.Different + report.Extra);
        _work.Set();
        var data = System.Text.Json.JsonSerializer.Serialize(report, ReportJson);
        await _intake.PublishAsync([new Event($"reconcileCompleted:{report.Flow}:{report.StartedAt.ToUnixTimeMilliseconds()}", "reconcileCompleted",
            "reconcile", report.Flow, report.StartedAt.ToUnixTimeMilliseconds(), Records.RecordOp.Upsert, data)], cancellationToken).ConfigureAwait(false);
        return report;
    }

    /// <summary>
    /// After intake failed to commit: checks, with backoff, whether the journal takes writes again, so readiness (which
    /// turned publishers away) recovers by itself. Outcomes and claims need no check: they retry their own writes.
    /// </summary>
    private async Task CheckWritesAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await _checkWake.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                _checkWake.Reader.TryRead(out _);
                for (var attempt = 0; _health.Failing(JournalWriter.Intake); attempt++)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 250 * Math.Pow(2, Math.Min(attempt, 8)))), _time, cancellationToken).ConfigureAwait(false);
                    try
                    {
                        await _journal.Intake.CheckWriteAsync(cancellationToken).ConfigureAwait(false);
                        _health.Succeeded(JournalWriter.Intake);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        _health.Failed(JournalWriter.Intake, $"intake: {e.GetType().Name}: {Config.Secrets.Redact(e.Message)}");
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Tells the notify channels about each conflict newly parked for an operator (one wake per commit that recorded any).</summary>
    private async Task WatchConflictsAsync(Channel<bool> wake, CancellationToken cancellationToken)
    {
        try
        {
            while (await wake.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                wake.Reader.TryRead(out _);
                var open = await _syncStore!.ListConflictsAsync(null, openOnly: true, 10_000, cancellationToken).ConfigureAwait(false);
                foreach (var c in open.Where(c => c.Id > _conflictsSeen).Reverse())
                    _notices.Post(Notifications.NoticeKind.Conflict, c.Pair, "conflicts waiting", $"{c.Pair}: {c.Entity}/{c.Key} (conflict {c.Id}, policy {c.Policy})");
                if (open.Count > 0) _conflictsSeen = Math.Max(_conflictsSeen, open[0].Id);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Conflicts of the two-way pairs, newest first; only the open ones (waiting for an operator) unless <paramref name="openOnly"/> is false.</summary>
    public ValueTask<IReadOnlyList<ConflictView>> ConflictsAsync(string? pair, bool openOnly, int limit, CancellationToken cancellationToken) =>
        _syncStore?.ListConflictsAsync(pair, openOnly, limit, cancellationToken) ?? ValueTask.FromResult<IReadOnlyList<ConflictView>>([]);

    public ValueTask<ConflictView?> GetConflictAsync(long id, CancellationToken cancellationToken) =>
        _syncStore?.GetConflictAsync(id, cancellationToken) ?? ValueTask.FromResult<ConflictView?>(null);

    /// <summary>
    /// Settles a parked conflict (an operator's choice, audited with who made it): the chosen record goes to both sides
    /// and the record's held deliveries resume. Null when there is no open conflict with that id.
    /// </summary>
    public async ValueTask<ConflictView?> ResolveConflictAsync(long id, ConflictResolution resolution, string actor, CancellationToken cancellationToken)
    {
        if (_syncStore is null) return null;
        var resolved = await _syncStore.ResolveConflictAsync(id, resolution, actor, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (resolved is null) return null;
        await AuditAsync(actor, "resolve conflict", $"conflict {id} ({resolved.Pair} {resolved.Entity}/{resolved.Key})",
            resolution.Body is null ? $"took {resolved.Outcome}" : "custom body", cancellationToken).ConfigureAwait(false);
        _work.Set();
        return resolved;
    }

    private static readonly System.Text.Json.JsonSerializerOptions ReportJson = new(System.Text.Json.JsonSerializerDefaults.Web);

    /// <summary>An inbound push to a webhook source; null when no webhook source has that name.</summary>
    public Task<WebhookOutcome>? ReceiveWebhookAsync(string source, Func<string, string?> header, byte[] body, CancellationToken cancellationToken) =>
        !_webhooks.TryGetValue(source, out var receiver) ? null
        : _pauses.Has(Control.PauseKind.Source, source) ? Task.FromResult(new WebhookOutcome(503, $"source '{source}' is paused by an operator; retry later", false))
        : receiver.ReceiveAsync(header, body, cancellationToken);

    public ValueTask<EventView?> GetEventAsync(string id, CancellationToken cancellationToken) => _queries.GetEventAsync(id, cancellationToken);

    /// <summary>One record's history across all systems: versions received, and every attempt per flow.</summary>
    public async ValueTask<RecordHistory> RecordHistoryAsync(string entity, string key, CancellationToken cancellationToken)
    {
        var history = await _queries.RecordHistoryAsync(entity, key, cancellationToken).ConfigureAwait(false);
        return history with { TargetIds = await _journal.Identities.IdsOfRecordAsync(entity, key, cancellationToken).ConfigureAwait(false) };
    }

    /// <summary>Writes an operator action to the audit log, with who did it.</summary>
    public ValueTask AuditAsync(string actor, string action, string? target, string? detail, CancellationToken cancellationToken) =>
        _queries.AuditAsync(actor, action, target, detail, _time.GetUtcNow(), cancellationToken);

    public ValueTask<IReadOnlyList<AuditEntry>> AuditLogAsync(int limit, CancellationToken cancellationToken) => _queries.AuditLogAsync(limit, cancellationToken);

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
        foreach (var runner in _polls.Values) await runner.DisposeAsync().ConfigureAwait(false);
        foreach (var receiver in _webhooks.Values) receiver.Dispose();
        foreach (var consumer in _subscriptions.Values) await consumer.DisposeAsync().ConfigureAwait(false);
        foreach (var job in _jobs.Values) job.Dispose();
        await _notices.DisposeAsync().ConfigureAwait(false);
        foreach (var reconciler in _reconcilers.Values) reconciler.Dispose();
        _stopping.Dispose();
        _loop.Dispose();
        await _journal.DisposeAsync().ConfigureAwait(false);
    }
}
