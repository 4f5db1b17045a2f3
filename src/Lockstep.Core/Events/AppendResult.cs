namespace Lockstep.Events;

/// <summary>Counts for one publish call, known only after the journal committed it.</summary>
public sealed record AppendResult(int Accepted, int Duplicates, int Stale)
{
    /// <summary>Accepted events that match no flow (stored, delivered nowhere); set by the engine's publish.</summary>
    public int Unrouted { get; init; }

    /// <summary>The types of the <see cref="Unrouted"/> events.</summary>
    public IReadOnlyList<string> UnroutedTypes { get; init; } = [];

    public static AppendResult From(IReadOnlyList<AppendStatus> statuses)
    {
        int accepted = 0, duplicates = 0, stale = 0;
        foreach (var status in statuses)
        {
            switch (status)
            {
                case AppendStatus.Accepted or AppendStatus.Reordered: accepted++; break;
                case AppendStatus.Duplicate: duplicates++; break;
                default: stale++; break;
            }
        }
        return new AppendResult(accepted, duplicates, stale);
    }
}
