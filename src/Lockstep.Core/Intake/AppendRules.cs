using Lockstep.Configuration;
using Lockstep.Encryption;
using Lockstep.Events;
using Lockstep.Routing;

namespace Lockstep.Intake;

/// <summary>
/// What happens to a published event, decided here and only stored by the journal: its id (derived when it has none),
/// its version (the next one when it has none), whether it is stale (not newer than the record's newest version: kept for
/// its id, never routed), the flows it is routed to, whether its completion is tracked, and the data as stored (sensitive
/// fields sealed). A backend loads the record heads and known ids of a batch at once, asks here per event, and writes rows.
/// </summary>
public sealed class AppendRules(FlowRouter router, DeliveryOptions options, SensitiveFields? sensitive)
{
    public FlowRouter Router => router;

    /// <summary>Fields stored only encrypted (<c>entities.NAME.sensitive</c>); null when there are none.</summary>
    public SensitiveFields? Sensitive => sensitive;

    /// <summary>Whether completions are tracked and <c>syncCompleted</c>/<c>syncFailed</c> emitted: as configured, else when a flow takes them.</summary>
    public bool CompletionEvents { get; } = options.CompletionEvents
        ?? router.Flows.Any(f => f.Types.Contains(CompletionTypes.SyncCompleted) || f.Types.Contains(CompletionTypes.SyncFailed));

    /// <summary>
    /// Decides one event (not a duplicate by its own id) against <paramref name="head"/>, the newest version of its record
    /// (null when the record is new). The caller still checks a derived id against the ids already stored.
    /// </summary>
    public AppendDecision Decide(Event e, long? head)
    {
        var version = e.Version ?? Event.NextVersion(head);
        var id = e.Id.Length > 0 ? e.Id : EventIds.Derived(e.Entity, e.Key, version);
        var data = sensitive is null ? e.Data : sensitive.Protect(e.Entity, e.Data);
        if (head is { } newest && version <= newest) return new AppendDecision(id, version, true, [], false, data, e.Id.Length == 0);
        var flows = router.Match(e.Type, e.Entity, e.Targets);
        var tracked = flows.Count > 0 && CompletionEvents && !Event.IsCompletion(e.Type);
        return new AppendDecision(id, version, false, flows, tracked, data, e.Id.Length == 0);
    }
}

/// <summary>One event's fate: stored under <see cref="Id"/> at <see cref="Version"/>, routed to <see cref="Flows"/> unless stale.</summary>
public sealed record AppendDecision(
    string Id, long Version, bool Stale, IReadOnlyList<FlowDefinition> Flows, bool Tracked, string? Data, bool Derived);
