namespace Lockstep.Conflicts;

/// <summary>How a two-way pair settles a record both sides changed since the last synced base.</summary>
public enum ConflictPolicy
{
    /// <summary>The source side (the system of record) wins.</summary>
    SourceWins = 0,
    /// <summary>The target side wins.</summary>
    TargetWins = 1,
    /// <summary>The side whose timestamp field is later wins; a tie (or no timestamps) goes to the source side.</summary>
    LastWriterWins = 2,
    /// <summary>Three-way field merge against the base; fields changed on both sides follow the fallback policy.</summary>
    Merge = 3,
    /// <summary>The record is parked in the conflict list until an operator resolves it.</summary>
    Manual = 4,
}
