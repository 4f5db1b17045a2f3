namespace Lockstep.Status;

/// <summary>The whole engine at a glance: <c>synced</c> only when nothing is pending, in flight or dead anywhere and the journal takes writes.</summary>
public sealed record StatusReport(
    string State,
    IReadOnlyDictionary<string, TargetStatus> Systems,
    IReadOnlyDictionary<string, TargetStatus> Flows)
{
    /// <summary>Whether the journal takes writes; while it does not, <see cref="State"/> is <c>failing</c>.</summary>
    public JournalStatus? Journal { get; init; }

    /// <summary>Published events since start that no flow takes (see <c>lockstep status</c>).</summary>
    public UnroutedStatus? Unrouted { get; init; }

    /// <summary>Poll and webhook sources, when there are any.</summary>
    public IReadOnlyDictionary<string, Sources.SourceStatus>? Sources { get; init; }

    /// <summary>Entries of <c>schedules:</c>: last run, next run, outcome.</summary>
    public IReadOnlyDictionary<string, Scheduling.JobStatus>? Schedules { get; init; }

    /// <summary>Two-way pairs (<c>sync:</c>): policy and conflicts, open ones waiting for an operator.</summary>
    public IReadOnlyDictionary<string, Conflicts.PairStatus>? Pairs { get; init; }

    /// <summary>Operators' pauses in effect (flows, systems, sources); null when there are none.</summary>
    public IReadOnlyList<Control.Pause>? Pauses { get; init; }

    /// <summary>Flows no longer configured that left pending work or dead letters in the journal; null when there are none.</summary>
    public IReadOnlyDictionary<string, RemovedFlow>? RemovedFlows { get; init; }
}
