using System.Collections.Concurrent;
using System.Globalization;

namespace Lockstep.Gauntlet.Reporting;

/// <summary>How many faults of each kind were injected (windows, and the requests or connections they hit).</summary>
internal sealed class FaultCounts
{
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public void Add(string kind, long count = 1) => _counts.AddOrUpdate(kind, count, (_, c) => c + count);

    public void AddAll(FaultCounts other)
    {
        foreach (var (kind, count) in other._counts) Add(kind, count);
    }

    public long Total => _counts.Values.Sum();

    public override string ToString() =>
        _counts.IsEmpty ? "none" : string.Join(", ", _counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key} {c.Value}")));
}
