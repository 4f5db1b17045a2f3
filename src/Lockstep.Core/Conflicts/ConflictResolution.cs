namespace Lockstep.Conflicts;

/// <summary>An operator's answer to a parked conflict: take one side (<c>source</c>, <c>target</c>) or a custom body.</summary>
public sealed record ConflictResolution(string? Take, string? Body);
