using Lockstep.Deliveries;

namespace Lockstep.Status;

/// <summary>Folds the journal's per-flow counters and the lanes' circuits into a <see cref="StatusReport"/>.</summary>
internal static class StatusBuilder
{
    /// <summary>
    /// How long a failure keeps a system or flow <c>failing</c> by its dead letters alone: after that, with its circuit
    /// closed and no retry failing, dead letters that old make it <c>degraded</c> (they still wait for an operator).
    /// </summary>
    public static readonly TimeSpan RecentFailures = TimeSpan.FromMinutes(15);

    public static StatusReport Build(
        IReadOnlyList<FlowCounters> counters, IReadOnlyCollection<string> flows, IReadOnlyDictionary<string, (string System, CircuitState Circuit)> lanes,
        IReadOnlyDictionary<string, string> flowSystems, DateTimeOffset now)
    {
        var byFlow = counters.ToDictionary(c => c.Flow, StringComparer.Ordinal);
        var flowStatus = new SortedDictionary<string, TargetStatus>(StringComparer.Ordinal);
        foreach (var flow in flows)
        {
            var system = flowSystems[flow];
            var c = byFlow.GetValueOrDefault(flow) ?? new FlowCounters(flow, system, 0, 0, 0, 0, null, null, null, null);
            var circuit = lanes.TryGetValue(system, out var lane) ? lane.Circuit : CircuitState.Closed;
            flowStatus[flow] = Status(system, c.Pending, c.InFlight, c.Delivered, c.Dead, c.OldestPendingSince, circuit,
                c.LastSuccessAt, c.LastFailureAt, c.LastError, now);
        }

        var systemStatus = new SortedDictionary<string, TargetStatus>(StringComparer.Ordinal);
        foreach (var (name, lane) in lanes)
        {
            var mine = flows.Where(f => flowSystems[f] == name).Select(f => byFlow.GetValueOrDefault(f)).OfType<FlowCounters>().ToList();
            var lastSuccess = mine.Max(c => c.LastSuccessAt);
            var lastFailure = mine.Max(c => c.LastFailureAt);
            var lastError = mine.Where(c => c.LastFailureAt == lastFailure).Select(c => c.LastError).FirstOrDefault();
            systemStatus[name] = Status(null, mine.Sum(c => c.Pending), mine.Sum(c => c.InFlight), mine.Sum(c => c.Delivered), mine.Sum(c => c.Dead),
                mine.Min(c => c.OldestPendingSince), lane.Circuit, lastSuccess, lastFailure, lastError, now);
        }

        var state = systemStatus.Values.Any(s => s.State == SyncState.Failing) ? SyncState.Failing
            : systemStatus.Values.Any(s => s.State == SyncState.Degraded) ? SyncState.Degraded
            : systemStatus.Values.Any(s => s.State == SyncState.Pending) ? SyncState.Pending
            : SyncState.Synced;
        return new StatusReport(state, systemStatus, flowStatus);
    }

    private static TargetStatus Status(string? system, long pending, long inFlight, long delivered, long dead, DateTimeOffset? oldestPending,
        CircuitState circuit, DateTimeOffset? lastSuccess, DateTimeOffset? lastFailure, string? lastError, DateTimeOffset now)
    {
        var busy = pending + inFlight > 0;
        var failingNow = busy && lastFailure is { } f && (lastSuccess is null || f > lastSuccess);
        // A dead letter counts as failing while the failure is recent; later it still needs an operator, but the system works.
        var recentFailure = lastFailure is { } last && now - last < RecentFailures;
        var state = circuit != CircuitState.Closed || (dead > 0 && recentFailure) || failingNow ? SyncState.Failing
            : dead > 0 ? SyncState.Degraded
            : busy ? SyncState.Pending
            : SyncState.Synced;
        var lag = busy && oldestPending is { } since ? Math.Max(0, (now - since).TotalSeconds) : 0;
        return new TargetStatus(system, state, pending, inFlight, delivered, dead, Math.Round(lag, 3), CircuitName(circuit),
            lastSuccess, lastFailure, lastError);
    }

    private static string CircuitName(CircuitState circuit) => circuit switch
    {
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half-open",
        _ => "closed",
    };
}
