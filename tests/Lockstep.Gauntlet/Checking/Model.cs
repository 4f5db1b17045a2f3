using Lockstep.Gauntlet.Schedules;

namespace Lockstep.Gauntlet.Checking;

internal enum IntakeResult
{
    Accepted,
    Duplicate,
    Stale,
}

/// <summary>
/// What Lockstep's contract says must come of the schedule's events, published one request after another in order:
/// a seen id is a duplicate, a version not newer than the newest known one is stale (its id is kept), the rest are
/// accepted; per record the newest accepted event is the state every target must end with.
/// </summary>
internal sealed class Model
{
    private readonly Dictionary<int, IntakeResult> _intake = [];

    public Model(Schedule schedule)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var newest = new Dictionary<string, EventSpec>(StringComparer.Ordinal);
        foreach (var e in schedule.Events)
        {
            if (!seen.Add(e.EffectiveId)) _intake[e.Index] = IntakeResult.Duplicate;
            else if (newest.TryGetValue(e.Key, out var known) && e.Version <= known.Version) _intake[e.Index] = IntakeResult.Stale;
            else
            {
                _intake[e.Index] = IntakeResult.Accepted;
                newest[e.Key] = e;
            }
        }
        Newest = newest;
    }

    /// <summary>Per record key, the newest accepted event.</summary>
    public IReadOnlyDictionary<string, EventSpec> Newest { get; }

    public IntakeResult IntakeOf(EventSpec e) => _intake[e.Index];

    /// <summary>The records whose newest version a target rejects for good (alpha only): dead letters expected there.</summary>
    public IEnumerable<EventSpec> Poisoned => Newest.Values.Where(e => e.Poison);
}
