using Lockstep.Control;
using Lockstep.Deliveries;
using Lockstep.Status;

namespace Lockstep.Engines;

// Operators' controls without a restart: pause and resume, retry now, circuit reset, a removed flow's work.
public sealed partial class LockstepEngine
{
    /// <summary>The pauses in effect (flows, systems, sources), as the journal holds them.</summary>
    public IReadOnlyList<Pause> Pauses => _pauses.All;

    /// <summary>
    /// Pauses a flow (its deliveries stay pending), a system (nothing is sent to it) or a source (it is not polled; a
    /// webhook source answers 503). Held in the journal, so it survives a restart; audited. Null when no such name is
    /// configured; throws <see cref="InvalidOperationException"/> for what cannot be paused yet.
    /// </summary>
    public async ValueTask<ControlOutcome?> PauseAsync(PauseKind kind, string name, string actor, string? reason, CancellationToken cancellationToken)
    {
        if (!IsConfigured(kind, name)) return null;
        if (kind == PauseKind.Source && _subscriptions.ContainsKey(name))
            throw new InvalidOperationException($"pausing broker subscription source '{name}' is not supported yet (poll and webhook sources can be paused)");
        var pause = new Pause(kind, name, actor, _time.GetUtcNow(), reason);
        var added = await _journal.Control.PauseAsync(pause, cancellationToken).ConfigureAwait(false);
        if (!added)
        {
            var existing = _pauses.Get(kind, name);
            return new ControlOutcome(kind, name, false, $"{Word(kind)} {name} was already paused" + (existing is null ? "" : $" by {existing.By} since {existing.Since:O}"));
        }
        _pauses.Add(pause);
        await AuditAsync(actor, "pause", $"{Word(kind)} {name}", reason, cancellationToken).ConfigureAwait(false);
        return new ControlOutcome(kind, name, true, kind switch
        {
            PauseKind.Flow => $"flow {name} paused: its deliveries stay pending until it is resumed (in-flight ones finish)",
            PauseKind.System => $"system {name} paused: nothing is sent to it until it is resumed (in-flight requests finish)",
            _ => _webhooks.ContainsKey(name)
                ? $"source {name} paused: its webhook answers 503 with Retry-After until it is resumed"
                : $"source {name} paused: it is not polled until it is resumed",
        });
    }

    /// <summary>
    /// Ends a pause; a flow's or system's waiting deliveries become due now. Audited. Null when the name is neither
    /// configured nor paused (a pause kept for a flow the configuration no longer has can still be resumed).
    /// </summary>
    public async ValueTask<ControlOutcome?> ResumeAsync(PauseKind kind, string name, string actor, CancellationToken cancellationToken)
    {
        var removed = await _journal.Control.ResumeAsync(kind, name, cancellationToken).ConfigureAwait(false);
        _pauses.Remove(kind, name);
        if (!removed) return IsConfigured(kind, name) ? new ControlOutcome(kind, name, false, $"{Word(kind)} {name} was not paused") : null;
        var now = _time.GetUtcNow();
        var due = 0;
        foreach (var flow in kind switch { PauseKind.Flow => [name], PauseKind.System => FlowsOf(name), _ => [] })
            due += await _reconcileStore.ExpediteAsync(flow, now, cancellationToken).ConfigureAwait(false);
        _work.Set();
        await AuditAsync(actor, "resume", $"{Word(kind)} {name}", kind == PauseKind.Source ? null : $"{due} deliveries made due", cancellationToken).ConfigureAwait(false);
        return new ControlOutcome(kind, name, true, kind == PauseKind.Source ? $"source {name} resumed" : $"{Word(kind)} {name} resumed: {due} waiting deliveries made due now");
    }

    /// <summary>
    /// Closes a system's circuit now (an operator knows it recovered): deliveries waiting behind it go at once. Audited.
    /// Null when no system has that name.
    /// </summary>
    public async ValueTask<ControlOutcome?> ResetCircuitAsync(string system, string actor, CancellationToken cancellationToken)
    {
        if (_lanes.FirstOrDefault(l => l.Name == system) is not { } lane) return null;
        var was = lane.Circuit(_time.GetUtcNow());
        await lane.ResetCircuitAsync(cancellationToken).ConfigureAwait(false);
        var due = 0;
        foreach (var flow in FlowsOf(system)) due += await _reconcileStore.ExpediteAsync(flow, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        _work.Set();
        var before = was switch { CircuitState.Open => "open", CircuitState.HalfOpen => "half-open", _ => "closed" };
        await AuditAsync(actor, "reset circuit", $"system {system}", $"was {before}; {due} deliveries made due", cancellationToken).ConfigureAwait(false);
        return new ControlOutcome(PauseKind.System, system, was != CircuitState.Closed, $"circuit of {system} closed (was {before}); {due} waiting deliveries made due now");
    }

    /// <summary>
    /// Drops the pending work and dead letters a flow left in the journal when it was removed from the configuration
    /// (never discarded by a reload on its own). Audited. Throws when the flow is still configured.
    /// </summary>
    public async ValueTask<int> DropRemovedFlowAsync(string flow, string actor, CancellationToken cancellationToken)
    {
        if (_flowSystems.ContainsKey(flow))
            throw new InvalidOperationException($"flow '{flow}' is configured: only a removed flow's work can be dropped (pause the flow, or drop dead letters one by one)");
        var dropped = await _journal.Control.DropFlowWorkAsync(flow, cancellationToken).ConfigureAwait(false);
        await AuditAsync(actor, "drop removed flow", $"flow {flow}", $"{dropped} deliveries dropped", cancellationToken).ConfigureAwait(false);
        return dropped;
    }

    /// <summary>
    /// Tests a system's connection without writing a record (<c>lockstep check SYSTEM</c>). Null when no system has that
    /// name; throws <see cref="NotSupportedException"/> for a connector that cannot check yet.
    /// </summary>
    public async ValueTask<Connectors.ConnectionCheck?> CheckAsync(string system, CancellationToken cancellationToken)
    {
        if (_lanes.FirstOrDefault(l => l.Name == system) is not { } lane) return null;
        if (lane.Connector is not Connectors.ICheckableConnector checkable)
            throw new NotSupportedException($"checking a system is not supported yet for type '{lane.System.Type}' (http and the SQL connectors can be checked)");
        var steps = await checkable.CheckAsync([.. Config.Flows.Where(f => f.System == system)], cancellationToken).ConfigureAwait(false);
        return new Connectors.ConnectionCheck(system, lane.System.Type, steps.All(s => s.Result != Connectors.CheckStep.Failed), steps);
    }

    /// <summary>
    /// Waiting retries of a flow (<paramref name="kind"/> <c>flow</c>), or of every flow of a system (<c>system</c>), become
    /// due now; says how many, and how many wait behind an open circuit. Null when there is no such flow or system.
    /// </summary>
    public async Task<SyncOutcome?> RetryNowAsync(string name, string kind, CancellationToken cancellationToken)
    {
        if (kind == "flow" ? !_flowSystems.ContainsKey(name) : _lanes.All(l => l.Name != name)) return null;
        var flows = kind == "flow" ? [name] : FlowsOf(name);
        var now = _time.GetUtcNow();
        // Counted before: once woken, the loop claims what was made due, and pending turns into in flight.
        var counters = await _queries.CountersAsync(cancellationToken).ConfigureAwait(false);
        var expedited = 0;
        foreach (var flow in flows) expedited += await _reconcileStore.ExpediteAsync(flow, now, cancellationToken).ConfigureAwait(false);
        _work.Set();
        var pending = Math.Max(counters.Where(c => flows.Contains(c.Flow)).Sum(c => c.Pending), expedited);
        var system = kind == "flow" ? _flowSystems[name] : name;
        var lane = _lanes.First(l => l.Name == system);
        var open = lane.Circuit(now) == CircuitState.Open;
        var inFlight = counters.Where(c => flows.Contains(c.Flow)).Sum(c => c.InFlight);
        var outcome = $"{expedited} waiting {(expedited == 1 ? "retry" : "retries")} made due now; {pending} pending in all";
        if (pending > expedited) outcome += $" ({pending - expedited} already due)";
        if (inFlight > 0) outcome += $", {inFlight} in flight";
        if (open) outcome += $"; {pending} wait behind the open circuit of {system} until {lane.OpenUntil:O} (`lockstep circuit reset {system}` closes it)";
        var paused = flows.Where(f => _pauses.Has(PauseKind.Flow, f)).ToList();
        if (_pauses.Has(PauseKind.System, system)) outcome += $"; system {system} is paused: nothing goes until it is resumed";
        else if (paused.Count > 0) outcome += $"; paused flows wait until resumed: {string.Join(", ", paused)}";
        return new SyncOutcome(name, kind, outcome, null) { MadeDue = expedited, Pending = pending, BehindOpenCircuit = open ? pending : 0, CircuitOpenUntil = open ? lane.OpenUntil : null };
    }

    /// <summary>Pauses shown in status: a paused flow or system (and the flows of a paused system) is <c>paused</c>, never failing for it.</summary>
    private async Task<StatusReport> WithControlAsync(StatusReport report, CancellationToken cancellationToken)
    {
        var removed = (await _journal.Control.ListRemovedFlowsAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(r => r.Flow, StringComparer.Ordinal);
        if (_pauses.All.Count == 0 && removed.Count == 0) return report;
        var flows = report.Flows.ToDictionary(f => f.Key, f =>
            (_pauses.Get(PauseKind.Flow, f.Key) ?? (_flowSystems.TryGetValue(f.Key, out var s) ? _pauses.Get(PauseKind.System, s) : null)) is { } p
                ? f.Value with { State = SyncState.Paused, Paused = p } : f.Value, StringComparer.Ordinal);
        // A system whose only waiting work belongs to paused flows waits for an operator, not for itself.
        var systems = report.Systems.ToDictionary(s => s.Key, s => _pauses.Get(PauseKind.System, s.Key) is { } p ? s.Value with { State = SyncState.Paused, Paused = p }
            : s.Value.State == SyncState.Pending && flows.Where(f => _flowSystems[f.Key] == s.Key && f.Value.Pending + f.Value.InFlight > 0).All(f => f.Value.State == SyncState.Paused)
                ? s.Value with { State = SyncState.Paused }
            : s.Value, StringComparer.Ordinal);
        var sources = report.Sources?.ToDictionary(s => s.Key, s => _pauses.Has(PauseKind.Source, s.Key) ? s.Value with { State = SyncState.Paused } : s.Value, StringComparer.Ordinal);
        var active = systems.Values.Where(s => s.State != SyncState.Paused).ToList();
        var state = report.State == SyncState.Failing && (report.Journal?.State != JournalStatus.Ok || active.Any(s => s.State == SyncState.Failing)) ? SyncState.Failing
            : active.Any(s => s.State is SyncState.Pending or SyncState.Failing) ? SyncState.Pending
            : systems.Count > active.Count || flows.Values.Any(f => f.State == SyncState.Paused) || (sources?.Values.Any(s => s.State == SyncState.Paused) ?? false) ? SyncState.Paused
            : report.State;
        return report with
        {
            State = state,
            Systems = new SortedDictionary<string, TargetStatus>(systems, StringComparer.Ordinal),
            Flows = new SortedDictionary<string, TargetStatus>(flows, StringComparer.Ordinal),
            Sources = sources is null ? null : new SortedDictionary<string, Sources.SourceStatus>(sources, StringComparer.Ordinal),
            Pauses = _pauses.All,
            RemovedFlows = removed.Count == 0 ? null : removed,
        };
    }

    private bool IsConfigured(PauseKind kind, string name) => kind switch
    {
        PauseKind.Flow => _flowSystems.ContainsKey(name),
        PauseKind.System => _lanes.Any(l => l.Name == name),
        _ => _polls.ContainsKey(name) || _webhooks.ContainsKey(name) || _subscriptions.ContainsKey(name),
    };

    private List<string> FlowsOf(string system) => [.. _flowSystems.Where(f => f.Value == system).Select(f => f.Key)];

    private static string Word(PauseKind kind) => kind.ToString().ToLowerInvariant();
}
