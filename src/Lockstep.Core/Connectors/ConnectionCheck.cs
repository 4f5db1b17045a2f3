namespace Lockstep.Connectors;

/// <summary>The answer of <c>lockstep check SYSTEM</c>: ok only when no step failed.</summary>
public sealed record ConnectionCheck(string System, string Type, bool Ok, IReadOnlyList<CheckStep> Steps);
