namespace Lockstep.Conflicts;

/// <summary>A pair at a glance: its policy, conflicts waiting for an operator, and all conflicts recorded so far.</summary>
public sealed record PairStatus(string Policy, long OpenConflicts, long Conflicts, DateTimeOffset? LastConflictAt);
