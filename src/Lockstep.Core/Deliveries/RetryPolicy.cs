namespace Lockstep.Deliveries;

/// <summary>A flow's retry settings, already validated.</summary>
public sealed record RetryPolicy(int MaxAttempts, TimeSpan InitialDelay, TimeSpan MaxDelay, TimeSpan MaxRetryAfter)
{
    public static RetryPolicy Default { get; } = new(10, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10), TimeSpan.FromHours(1));
}
