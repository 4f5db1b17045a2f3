using System.Text;
using Lockstep.Connectors.CalDav;

namespace Lockstep.Tests.Connectors;

/// <summary>How mapped fields become a VEVENT and back, without a server.</summary>
public sealed class CalendarEntryTests
{
    private static readonly DateTimeOffset Stamp = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);

    private static CalendarEntry? Entry(string json, out string? error) => CalendarEntry.FromMapped(Encoding.UTF8.GetBytes(json), out error);

    [Fact]
    public void Event_has_crlf_line_ends_the_uid_and_the_version()
    {
        var entry = Entry("""{"summary":"Inspection P-1","start":"2026-12-01T09:00:00Z","end":"2026-12-01T10:15:00Z","description":"Bring the plans"}""", out _)!;

        var ics = entry.ToIcs("permit-P-1", 5_000_000_000, "f:permit:P-1:5000000000", Stamp);

        Assert.DoesNotContain("\n", ics.Replace("\r\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("\r\nUID:permit-P-1\r\n", ics, StringComparison.Ordinal);
        Assert.Contains("\r\nDTEND:20261201T101500Z\r\n", ics, StringComparison.Ordinal);
        Assert.Contains($"\r\nSEQUENCE:{int.MaxValue}\r\n", ics, StringComparison.Ordinal);
        Assert.Equal(5_000_000_000, CalendarEntry.VersionOf(ics));
    }

    [Theory]
    [InlineData("""{"summary":"x"}""", "mapped field 'start' is missing")]
    [InlineData("""{"start":"next tuesday"}""", "mapped field 'start' is not an ISO 8601")]
    [InlineData("""{"start":"2026-12-01T09:00:00Z","durationMinutes":"sixty"}""", "mapped field 'durationMinutes'")]
    [InlineData("""{"start":"2026-12-01T09:00:00Z","end":"2026-12-01T08:00:00Z"}""", "mapped field 'end' is before 'start'")]
    [InlineData("""{"start":"2026-12-01T09:00:00Z","summary":42}""", "mapped field 'summary' must be a string")]
    [InlineData("""["2026-12-01"]""", "must be an object")]
    public void Bad_mapped_fields_are_errors_naming_the_field(string json, string message)
    {
        Assert.Null(Entry(json, out var error));
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_date_without_a_time_is_an_all_day_event_that_reads_back_as_mapped()
    {
        var json = """{"summary":"Open day","start":"2026-12-24"}""";

        var ics = Entry(json, out _)!.ToIcs("event-1", 1, "k", Stamp);
        var read = CalendarEntry.ReadJson(ics)!;

        Assert.Contains("DTSTART;VALUE=DATE:20261224", ics, StringComparison.Ordinal);
        Assert.Contains("DTEND;VALUE=DATE:20261225", ics, StringComparison.Ordinal);
        Assert.True(Lockstep.Reconciliation.Reconciler.Covers(read, Encoding.UTF8.GetBytes(json)), read);
    }

    [Fact]
    public void A_moved_event_reads_back_with_its_new_time()
    {
        var json = """{"summary":"Inspection","start":"2026-12-01T10:00:00+01:00","durationMinutes":60}""";
        var ics = Entry(json, out _)!.ToIcs("permit-P-1", 1, "k", Stamp).Replace("DTSTART:20261201T090000Z", "DTSTART:20261201T110000Z", StringComparison.Ordinal);

        var read = CalendarEntry.ReadJson(ics)!;

        Assert.Contains("\"start\":\"2026-12-01T11:00:00Z\"", read, StringComparison.Ordinal);
        Assert.False(Lockstep.Reconciliation.Reconciler.Covers(read, Encoding.UTF8.GetBytes(json)));
    }
}
