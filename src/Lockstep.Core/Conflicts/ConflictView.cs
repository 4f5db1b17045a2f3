namespace Lockstep.Conflicts;

/// <summary>
/// One recorded conflict: both sides' data and the base they diverged from, and how it was settled (by a policy, or
/// by whom when an operator resolved it). <see cref="Outcome"/> is <c>open</c> until then.
/// </summary>
public sealed record ConflictView(
    long Id, string Pair, string Entity, string Key, string Policy, DateTimeOffset DetectedAt,
    string? Base, string? Source, bool SourceDeleted, string? Target, bool TargetDeleted,
    string Outcome, string? Result, DateTimeOffset? ResolvedAt, string? ResolvedBy);
