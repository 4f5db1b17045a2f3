namespace Lockstep.Configuration;

/// <summary>
/// When a system is paused as a whole: the failure ratio over a sampling window, and how long it stays open before a probe.
/// The default ratio, 0.9, opens it for a target that is really down; a target failing some of its requests is degraded,
/// not dead, and keeps being served (its failed records retry with their own backoff; overload answers lower the
/// concurrency instead).
/// </summary>
public sealed record CircuitOptions(double FailureRatio, int MinimumThroughput, TimeSpan SamplingDuration, TimeSpan BreakDuration, TimeSpan MaxBreakDuration)
{
    public static CircuitOptions Default { get; } =
        new(0.9, 10, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(2));
}
