using Lockstep.Sources;

namespace Lockstep.Tests.Sources;

public sealed class CursorValueTests
{
    [Fact]
    public void Timestamps_compare_as_instants_and_move_back_by_the_overlap()
    {
        Assert.True(CursorValue.Compare("2026-01-01T10:00:00+01:00", "2026-01-01T09:30:00Z") < 0);
        Assert.Equal("2026-01-01T09:59:55.000Z", CursorValue.Since("2026-01-01T10:00:00Z", TimeSpan.FromSeconds(5)));
        Assert.Equal("", CursorValue.Since(null, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Numbers_compare_as_numbers_and_are_not_moved()
    {
        Assert.Equal("10", CursorValue.Max("9", "10"));
        Assert.Equal("10", CursorValue.Since("10", TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Versions_come_from_numbers_or_timestamps()
    {
        Assert.Equal(42, CursorValue.Version("42"));
        Assert.Equal(DateTimeOffset.Parse("2026-01-01T00:00:01Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), CursorValue.Version("2026-01-01T00:00:01Z"));
        Assert.Null(CursorValue.Version("soon"));
    }
}
