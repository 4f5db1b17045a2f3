namespace Lockstep.Configuration;

/// <summary>One external system, validated. <see cref="Settings"/> belongs to its connector type.</summary>
public sealed record SystemDefinition(
    string Name, string Type, int Concurrency, TimeSpan Timeout, CircuitOptions Circuit, object? Settings, int Line)
{
    /// <summary>The system's <c>rateLimit:</c>, when it has one.</summary>
    public RateLimitOptions? RateLimit { get; init; }
}
