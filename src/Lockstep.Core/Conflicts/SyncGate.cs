using Lockstep.Deliveries;
using Lockstep.Events;
using Lockstep.Mapping;
using Lockstep.Records;

namespace Lockstep.Conflicts;

/// <summary>
/// Marks changes that come in through a pair's sources with their origin and with the hash of the record as that
/// side's own flow would write it, so the journal can tell Lockstep's own writes coming back (echoes) from real changes.
/// </summary>
internal sealed class SyncGate
{
    private readonly Dictionary<string, (SyncPair Pair, PairSide Side, FlowScripts Scripts, string System)> _sides = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (FlowScripts Scripts, string System)> _flows = new(StringComparer.Ordinal);

    public SyncGate(IReadOnlyList<SyncPair> pairs, IReadOnlyDictionary<string, FlowRuntime> flows)
    {
        foreach (var pair in pairs)
        {
            foreach (var side in new[] { pair.Source, pair.Target })
            {
                var flow = flows[side.Flow];
                _flows[side.Flow] = (flow.Scripts, flow.Definition.System);
                foreach (var source in side.Sources) _sides[source] = (pair, side, flow.Scripts, flow.Definition.System);
            }
        }
    }

    public bool IsEmpty => _sides.Count == 0;

    public Event Stamp(string source, Event e)
    {
        if (!_sides.TryGetValue(source, out var side) || !side.Pair.Entities.Contains(e.Entity)) return e;
        string? hash = null;
        if (e.Op == RecordOp.Delete) hash = RecordJson.DeleteHash;
        else if (e.Data is not null) hash = Hash(side.Scripts, side.Side.Flow, side.System, e);
        return e with { Origin = source, EchoHash = hash };
    }

    /// <summary>The record's data as the pair flow <paramref name="flow"/> writes it, hashed like <see cref="Stamp"/> hashes a reported change.</summary>
    public string? Hash(string flow, string entity, string key, string data) =>
        _flows.TryGetValue(flow, out var f) ? Hash(f.Scripts, flow, f.System, new Event("", "", entity, key, 0, RecordOp.Upsert, data)) : null;

    private static string? Hash(FlowScripts scripts, string flow, string system, Event e)
    {
        var mapped = scripts.Map(new Delivery(0, flow, system, e.Entity, e.Key, e.Version ?? 0, e.Op, e.Id, e.Type, e.Data, 1));
        if (mapped.Status != MapStatus.Mapped) return null;
        try
        {
            return RecordJson.Hash(mapped.Body.Span);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
