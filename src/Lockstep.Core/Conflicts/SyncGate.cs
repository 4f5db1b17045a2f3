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

    public SyncGate(IReadOnlyList<SyncPair> pairs, IReadOnlyDictionary<string, FlowRuntime> flows)
    {
        foreach (var pair in pairs)
        {
            foreach (var side in new[] { pair.Source, pair.Target })
            {
                var flow = flows[side.Flow];
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
        else if (e.Data is not null)
        {
            var mapped = side.Scripts.Map(new Delivery(0, side.Side.Flow, side.System, e.Entity, e.Key, e.Version ?? 0, e.Op, e.Id, e.Type, e.Data, 1));
            if (mapped.Status == MapStatus.Mapped)
            {
                try
                {
                    hash = RecordJson.Hash(mapped.Body.Span);
                }
                catch (System.Text.Json.JsonException)
                {
                    hash = null;
                }
            }
        }
        return e with { Origin = source, EchoHash = hash };
    }
}
