namespace Lockstep.Control;

/// <summary>What an operator's control did: whether anything changed, in one line for the CLI and the audit log.</summary>
public sealed record ControlOutcome(PauseKind Kind, string Name, bool Changed, string Outcome);
