using System.Collections.Concurrent;
using Lockstep.Events;
using Microsoft.Extensions.Logging;

namespace Lockstep.Routing;

/// <summary>
/// Published events that no flow takes (a typo in a type, a flow not configured yet): stored, delivered nowhere. Counted
/// per type since start and logged once per type, so such an event is never silently lost from view.
/// </summary>
internal sealed partial class UnroutedEvents(FlowRouter router, ILogger logger)
{
    /// <summary>Types counted one by one; beyond them, one bucket (an answer and the metric labels stay small).</summary>
    private const int MaxTypes = 200;
    public const string OtherTypes = "(other types)";

    private readonly ConcurrentDictionary<string, long> _types = new(StringComparer.Ordinal);
    private long _total;

    public long Total => Interlocked.Read(ref _total);

    public IReadOnlyDictionary<string, long> Types => new SortedDictionary<string, long>(_types, StringComparer.Ordinal);

    /// <summary>Counts the committed events of one publish that match no flow; returns how many and their types.</summary>
    public (int Count, IReadOnlyList<string> Types) Count(IReadOnlyList<Event> events, IReadOnlyList<AppendStatus> statuses)
    {
        var count = 0;
        SortedSet<string>? types = null;
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            // Duplicates and stale versions are routed nowhere by design; completions only reach flows that ask for them.
            if (statuses[i] is not (AppendStatus.Accepted or AppendStatus.Reordered) || Event.IsCompletion(e.Type) || router.Match(e.Type, e.Entity).Count > 0) continue;
            count++;
            (types ??= new(StringComparer.Ordinal)).Add(e.Type);
            var type = _types.ContainsKey(e.Type) || _types.Count < MaxTypes ? e.Type : OtherTypes;
            if (_types.AddOrUpdate(type, 1, static (_, n) => n + 1) == 1) Unrouted(logger, e.Type, e.Entity);
        }
        Interlocked.Add(ref _total, count);
        return (count, types is null ? [] : [.. types]);
    }

    [LoggerMessage(1010, LogLevel.Warning, "Events of type {Type} (entity {Entity}) match no flow: they are stored but delivered nowhere (counted as unrouted; logged once per type)")]
    private static partial void Unrouted(ILogger logger, string type, string entity);
}
