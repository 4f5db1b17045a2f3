namespace Lockstep.Conflicts;

/// <summary>
/// What a policy made of a conflict: <see cref="Outcome"/> is <c>source</c>, <c>target</c>, <c>merged</c> or
/// <c>open</c> (parked for an operator); <see cref="Data"/> is the winning record (null for a delete).
/// </summary>
public sealed record ConflictDecision(string Outcome, string? Data, bool Deleted, string Detail);
