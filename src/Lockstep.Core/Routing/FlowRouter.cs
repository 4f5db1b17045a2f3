using System.Collections.Concurrent;
using Lockstep.Configuration;
using Lockstep.Events;

namespace Lockstep.Routing;

/// <summary>Which flows take an event, by its type and entity. Completion events only reach flows that name their type.</summary>
public sealed class FlowRouter(IReadOnlyList<FlowDefinition> flows)
{
    private readonly ConcurrentDictionary<(string Type, string Entity), FlowDefinition[]> _cache = new();

    public IReadOnlyList<FlowDefinition> Flows => flows;

    public IReadOnlyList<FlowDefinition> Match(string type, string entity) =>
        _cache.GetOrAdd((type, entity), static (k, all) => all
            .Where(f => f.Accepts(k.Type, k.Entity) && (!Event.IsCompletion(k.Type) || f.Types.Contains(k.Type)))
            .ToArray(), flows);
}
