using System.Diagnostics;

namespace Lockstep.Telemetry;

/// <summary>
/// The engine's traces (<see cref="ActivitySource"/> "Lockstep"): <c>lockstep.intake</c> per journal commit of
/// published events, <c>lockstep.delivery</c> per attempt (flow, system, entity, key, version, attempt, outcome), and
/// <c>lockstep.connector</c> around the call to the external system. Tags are identifiers, never payloads or credentials.
/// </summary>
public static class LockstepActivities
{
    public const string SourceName = "Lockstep";

    public static ActivitySource Source { get; } = new(SourceName);
}
