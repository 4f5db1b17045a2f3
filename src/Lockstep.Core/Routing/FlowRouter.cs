using System.Collections.Concurrent;
using Lockstep.Configuration;
using Lockstep.Events;

namespace Lockstep.Routing;

/// <summary>
/// Which flows take an event, by its type and entity, narrowed by the event's own targets. Completion events only reach
/// flows that name their type.
/// </summary>
public sealed class FlowRouter(IReadOnlyList<FlowDefinition> flows)
{
    private readonly ConcurrentDictionary<(string Type, string Entity), FlowDefinition[]> _cache = new();

    public IReadOnlyList<FlowDefinition> Flows => flows;

    public IReadOnlyList<FlowDefinition> Match(string type, string entity) =>
        _cache.GetOrAdd((type, entity), static (k, all) => all
            .Where(f => f.Accepts(k.Type, k.Entity) && (!Event.IsCompletion(k.Type) || f.Types.Contains(k.Type)))
            .ToArray(), flows);

    /// <summary>The flows of <see cref="Match(string, string)"/> that <paramref name="targets"/> names, by flow or by system; all of them when null.</summary>
    public IReadOnlyList<FlowDefinition> Match(string type, string entity, IReadOnlyList<string>? targets)
    {
        var matched = Match(type, entity);
        if (targets is null) return matched;
        return [.. matched.Where(f => targets.Contains(f.Name, StringComparer.Ordinal) || targets.Contains(f.System, StringComparer.Ordinal))];
    }
}
