namespace Lockstep.Control;

/// <summary>An operator's pause of one flow, system or source: held in the journal, so it survives a restart.</summary>
public sealed record Pause(PauseKind Kind, string Name, string By, DateTimeOffset Since, string? Reason);
