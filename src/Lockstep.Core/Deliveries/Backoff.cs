namespace Lockstep.Deliveries;

/// <summary>Exponential backoff with full jitter, never earlier than a target's Retry-After (capped).</summary>
public static class Backoff
{
    /// <param name="attempt">The attempt that just failed, 1-based.</param>
    /// <param name="sample">A uniform sample in [0, 1).</param>
    public static TimeSpan Delay(RetryPolicy policy, int attempt, TimeSpan? retryAfter, double sample)
    {
        var exponent = Math.Min(Math.Max(attempt - 1, 0), 40);
        var ceiling = Math.Min(policy.InitialDelay.TotalMilliseconds * Math.Pow(2, exponent), policy.MaxDelay.TotalMilliseconds);
        var delay = TimeSpan.FromMilliseconds(ceiling * sample);
        if (retryAfter is { } asked)
        {
            var honoured = asked > policy.MaxRetryAfter ? policy.MaxRetryAfter : asked;
            if (honoured > delay) delay = honoured;
        }
        return delay;
    }
}
