namespace Lockstep.Configuration;

/// <summary>
/// When a system is paused as a whole: the failure ratio over a sampling window, and how long it stays open before a probe.
/// The defaults — ratio 1.0 over at least 50 attempts: every one of them failed — open it for a target that is really
/// down. At 0.9, or over only 10 attempts, a target serving one request in ten opened it often (0.9^10 = 35 % of first
/// windows) and then starved behind doubling breaks whose probes failed nine times in ten. A target failing some of its requests is degraded,
/// not dead, and keeps being served (its failed records retry with their own backoff; overload answers lower the
/// concurrency instead).
/// </summary>
public sealed record CircuitOptions(double FailureRatio, int MinimumThroughput, TimeSpan SamplingDuration, TimeSpan BreakDuration, TimeSpan MaxBreakDuration)
{
    public static CircuitOptions Default { get; } =
        new(1.0, 50, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(2));
}
