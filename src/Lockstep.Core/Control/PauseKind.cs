namespace Lockstep.Control;

/// <summary>What an operator can pause: a flow (its deliveries), a system (every delivery to it) or a source (its intake).</summary>
public enum PauseKind
{
    Flow,
    System,
    Source,
}
