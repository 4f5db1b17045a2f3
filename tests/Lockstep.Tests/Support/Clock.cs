using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Support;

internal static class Clock
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);

    public static FakeTimeProvider Fake() => new(T0);
}
