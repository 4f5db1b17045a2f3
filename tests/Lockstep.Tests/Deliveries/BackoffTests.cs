using Lockstep.Deliveries;

namespace Lockstep.Tests.Deliveries;

public sealed class BackoffTests
{
    private static readonly RetryPolicy Policy = new(10, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(1));

    [Theory]
    [InlineData(1, 100)]
    [InlineData(2, 200)]
    [InlineData(3, 400)]
    [InlineData(10, 5_000)]
    [InlineData(1_000, 5_000)]
    public void Full_jitter_stays_below_the_exponential_ceiling(int attempt, double ceilingMs)
    {
        Assert.Equal(0, Backoff.Delay(Policy, attempt, null, 0).TotalMilliseconds);
        Assert.Equal(ceilingMs * 0.5, Backoff.Delay(Policy, attempt, null, 0.5).TotalMilliseconds, 3);
        Assert.True(Backoff.Delay(Policy, attempt, null, 0.999_999).TotalMilliseconds < ceilingMs);
    }

    [Fact]
    public void Retry_after_is_honoured_over_a_shorter_backoff()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), Backoff.Delay(Policy, 1, TimeSpan.FromSeconds(30), 0.5));
    }

    [Fact]
    public void Retry_after_is_capped()
    {
        Assert.Equal(TimeSpan.FromMinutes(1), Backoff.Delay(Policy, 1, TimeSpan.FromHours(5), 0.5));
    }
}
