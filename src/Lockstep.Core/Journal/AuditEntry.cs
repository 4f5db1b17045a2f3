namespace Lockstep.Journal;

/// <summary>An operator action: who (the API key's name), what, on what, and the outcome.</summary>
public sealed record AuditEntry(long Id, DateTimeOffset At, string Actor, string Action, string? Target, string? Detail);
