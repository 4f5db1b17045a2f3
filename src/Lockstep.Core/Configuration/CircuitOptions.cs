namespace Lockstep.Configuration;

/// <summary>When a system is paused as a whole: the failure ratio over a sampling window, and how long it stays open before a probe.</summary>
public sealed record CircuitOptions(double FailureRatio, int MinimumThroughput, TimeSpan SamplingDuration, TimeSpan BreakDuration, TimeSpan MaxBreakDuration)
{
    public static CircuitOptions Default { get; } =
        new(0.5, 10, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(2));
}
