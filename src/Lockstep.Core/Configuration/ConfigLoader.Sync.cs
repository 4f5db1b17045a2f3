using Lockstep.Conflicts;
using Lockstep.Sources;

namespace Lockstep.Configuration;

public sealed partial class ConfigLoader
{
    private static readonly string[] PairKeys = ["entity", "source", "target", "policy", "timestampField", "fallback"];

    private static List<SyncPair> ReadSync(ConfigSection root, List<FlowDefinition> flows, List<SourceDefinition> sources)
    {
        var pairs = new List<SyncPair>();
        var section = root.Section("sync");
        if (section is null) return pairs;
        var usedSources = new Dictionary<string, string>(StringComparer.Ordinal);
        var usedFlows = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, pair) in section.Entries())
        {
            pair.CheckKeys(PairKeys);
            var entities = pair.StringList("entity").ToHashSet(StringComparer.Ordinal);
            if (entities.Count == 0) pair.Error("entity", "is required (the entity, or a list of entities, the pair keeps equal both ways)");
            var source = ReadSide(pair, "source", entities, flows, sources);
            var target = ReadSide(pair, "target", entities, flows, sources);
            var (policy, perEntity) = ReadPolicies(pair, entities);
            var fallback = ConflictPolicy.SourceWins;
            if (pair.String("fallback") is { } fallbackText)
            {
                if (Policy(fallbackText) is not { } f || f == ConflictPolicy.Merge)
                    pair.Error("fallback", $"'{fallbackText}' is not a fallback policy (sourceWins, targetWins, lastWriterWins, manual)");
                else fallback = f;
            }
            var timestamp = pair.String("timestampField");
            if (timestamp is null && (policy == ConflictPolicy.LastWriterWins || fallback == ConflictPolicy.LastWriterWins || perEntity.ContainsValue(ConflictPolicy.LastWriterWins)))
                pair.Error("timestampField", "is required by lastWriterWins (the field holding when a record was last changed, e.g. updatedAt)");
            if (source is null || target is null) continue;
            if (source.Flow == target.Flow) pair.Error("target", $"writes through the same flow as the source side ('{source.Flow}')");
            foreach (var (side, key) in new[] { (source, "source"), (target, "target") })
            {
                if (!usedFlows.TryAdd(side.Flow, name)) pair.Error(key, $"flow '{side.Flow}' already belongs to pair '{usedFlows[side.Flow]}'");
                foreach (var s in side.Sources)
                {
                    if (!usedSources.TryAdd(s, name)) pair.Error(key, $"source '{s}' already belongs to pair '{usedSources[s]}'");
                }
            }
            pairs.Add(new SyncPair(name, entities, source, target, policy, perEntity, timestamp, fallback, pair.Line));
        }
        return pairs;
    }

    /// <summary>
    /// A side is <c>{system?, from: [sources], to: flow}</c>, or just a system name: then its flow is the one flow to that
    /// system taking the entity, and its sources are the poll sources reading from it (webhook sources must be named).
    /// </summary>
    private static PairSide? ReadSide(ConfigSection pair, string key, HashSet<string> entities, List<FlowDefinition> flows, List<SourceDefinition> sources)
    {
        string? system;
        IReadOnlyList<string> from;
        string? to;
        if (pair.ScalarOrNull(key) is { } systemName)
        {
            system = systemName;
            var candidates = flows.Where(f => f.System == system && entities.Any(e => f.Accepts(f.Types.FirstOrDefault() ?? "", e))).ToList();
            if (candidates.Count != 1)
            {
                pair.Error(key, candidates.Count == 0
                    ? $"no flow writes '{string.Join(", ", entities)}' to system '{system}' (write {key}: {{ from: [SOURCE], to: FLOW }})"
                    : $"several flows write to system '{system}' ({string.Join(", ", candidates.Select(f => f.Name))}): name one with {key}: {{ from: [SOURCE], to: FLOW }}");
                return null;
            }
            to = candidates[0].Name;
            from = [.. sources.Where(s => s.Kind == SourceKind.HttpPoll && s.System == system).Select(s => s.Name)];
            if (from.Count == 0)
            {
                pair.Error(key, $"no poll source reads from system '{system}': name its sources with {key}: {{ from: [SOURCE], to: {to} }}");
                return null;
            }
        }
        else
        {
            var side = pair.Section(key, required: true);
            if (side is null) return null;
            side.CheckKeys(["system", "from", "to"]);
            system = side.String("system");
            from = side.StringList("from");
            to = side.String("to", required: true);
            if (from.Count == 0) side.Error("from", "is required (the source or sources bringing this side's changes in)");
            foreach (var s in from)
            {
                var definition = sources.FirstOrDefault(d => d.Name == s);
                if (definition is null) side.Error("from", $"unknown source '{s}'" + (sources.Count > 0 ? $" (sources: {string.Join(", ", sources.Select(d => d.Name))})" : ""));
                else if (system is not null && definition.System is not null && definition.System != system)
                    side.Error("from", $"source '{s}' reads from system '{definition.System}', not '{system}'");
            }
            if (to is null) return null;
            var flow = flows.FirstOrDefault(f => f.Name == to);
            if (flow is null)
            {
                side.Error("to", $"unknown flow '{to}'");
                return null;
            }
            if (system is not null && flow.System != system) side.Error("to", $"flow '{to}' writes to system '{flow.System}', not '{system}'");
            if (flow.Encrypt is not null) side.Error("to", $"flow '{to}' encrypts fields; encrypted flows in a sync pair are not supported yet");
            if (flow.Entities.Count > 0 && !entities.All(flow.Entities.Contains))
                side.Error("to", $"flow '{to}' does not take entity '{string.Join(", ", entities.Where(e => !flow.Entities.Contains(e)))}'");
            system ??= flow.System;
        }
        return to is null ? null : new PairSide(key, system, from, to);
    }

    private static (ConflictPolicy Default, Dictionary<string, ConflictPolicy> PerEntity) ReadPolicies(ConfigSection pair, HashSet<string> entities)
    {
        var perEntity = new Dictionary<string, ConflictPolicy>(StringComparer.Ordinal);
        if (!pair.Has("policy")) return (ConflictPolicy.SourceWins, perEntity);
        if (pair.ScalarOrNull("policy") is { } text)
        {
            if (Policy(text) is { } p) return (p, perEntity);
            pair.Error("policy", $"'{text}' is not a policy (sourceWins, targetWins, lastWriterWins, merge, manual)");
            return (ConflictPolicy.SourceWins, perEntity);
        }
        var section = pair.Section("policy");
        var fallback = ConflictPolicy.SourceWins;
        if (section is null) return (fallback, perEntity);
        foreach (var entity in section.Keys)
        {
            var value = section.String(entity);
            if (value is null) continue;
            if (Policy(value) is not { } p)
            {
                section.Error(entity, $"'{value}' is not a policy (sourceWins, targetWins, lastWriterWins, merge, manual)");
                continue;
            }
            if (entity == "default") fallback = p;
            else if (!entities.Contains(entity)) section.Error(entity, $"'{entity}' is not an entity of this pair ({string.Join(", ", entities)}) or 'default'");
            else perEntity[entity] = p;
        }
        return (fallback, perEntity);
    }

    private static ConflictPolicy? Policy(string text) => text switch
    {
        "sourceWins" => ConflictPolicy.SourceWins,
        "targetWins" => ConflictPolicy.TargetWins,
        "lastWriterWins" => ConflictPolicy.LastWriterWins,
        "merge" => ConflictPolicy.Merge,
        "manual" => ConflictPolicy.Manual,
        _ => null,
    };
}
