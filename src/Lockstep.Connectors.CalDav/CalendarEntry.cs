using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Ical.Net.CalendarComponents;
using Ical.Net.DataTypes;
using Ical.Net.Serialization;

namespace Lockstep.Connectors.CalDav;

/// <summary>
/// The mapped fields of one calendar event (<c>summary</c>, <c>start</c>, <c>end</c> or <c>durationMinutes</c>,
/// <c>location</c>, <c>description</c>) and their VEVENT form. Times are written in UTC; the mapped text of
/// <c>start</c>/<c>end</c> is kept in X- properties so a read gives back what was mapped while the times still match.
/// </summary>
internal sealed record CalendarEntry(
    string? Summary, DateTimeOffset Start, string StartText, DateTimeOffset? End, string? EndText, double? DurationMinutes,
    string? Location, string? Description, bool AllDay)
{
    private const string VersionProperty = "X-LOCKSTEP-VERSION";
    private const string KeyProperty = "X-LOCKSTEP-IDEMPOTENCY-KEY";
    private const string StartProperty = "X-LOCKSTEP-START";
    private const string EndProperty = "X-LOCKSTEP-END";

    /// <summary>Reads the mapped record; a missing or malformed field is an error naming it (a mapping mistake, never retried).</summary>
    public static CalendarEntry? FromMapped(ReadOnlyMemory<byte> json, out string? error)
    {
        error = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            error = $"the mapped record is not JSON: {e.Message}";
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "the mapped record must be an object with summary, start and durationMinutes or end";
                return null;
            }
            var summary = Text(root, "summary", ref error);
            var location = Text(root, "location", ref error);
            var description = Text(root, "description", ref error);
            var startText = Text(root, "start", ref error);
            var endText = Text(root, "end", ref error);
            double? duration = null;
            if (root.TryGetProperty("durationMinutes", out var d) && d.ValueKind != JsonValueKind.Null)
            {
                if (d.ValueKind == JsonValueKind.Number && d.TryGetDouble(out var minutes) && minutes >= 0 && minutes <= 525_600) duration = minutes;
                else error ??= "mapped field 'durationMinutes' must be a number of minutes between 0 and 525600";
            }
            if (error is not null) return null;
            if (startText is null)
            {
                error = "mapped field 'start' is missing (an ISO 8601 date or date-time is required)";
                return null;
            }
            if (!TryParseTime(startText, out var start, out var allDay))
            {
                error = $"mapped field 'start' is not an ISO 8601 date or date-time: '{Shown(startText)}'";
                return null;
            }
            DateTimeOffset? end = null;
            if (endText is not null)
            {
                if (duration is not null)
                {
                    error = "mapped fields 'end' and 'durationMinutes' cannot both be set";
                    return null;
                }
                if (!TryParseTime(endText, out var parsedEnd, out var endAllDay) || endAllDay != allDay)
                {
                    error = $"mapped field 'end' is not an ISO 8601 {(allDay ? "date" : "date-time")}: '{Shown(endText)}'";
                    return null;
                }
                if (parsedEnd < start)
                {
                    error = "mapped field 'end' is before 'start'";
                    return null;
                }
                end = parsedEnd;
            }
            return new CalendarEntry(summary, start, startText, end, endText, duration, location, description, allDay);
        }
    }

    /// <summary>The event as an iCalendar object (CRLF line ends), carrying the record version and idempotency key.</summary>
    public string ToIcs(string uid, long version, string idempotencyKey, DateTimeOffset stamp)
    {
        var item = new CalendarEvent
        {
            Uid = uid,
            Summary = Summary,
            Location = Location,
            Description = Description,
            DtStamp = new CalDateTime(stamp.UtcDateTime),
            // SEQUENCE is a 32-bit integer; the exact version travels in X-LOCKSTEP-VERSION.
            Sequence = (int)Math.Min(version, int.MaxValue),
        };
        if (AllDay)
        {
            item.DtStart = new CalDateTime(DateOnly.FromDateTime(Start.UtcDateTime));
            var lastDay = End is { } e ? DateOnly.FromDateTime(e.UtcDateTime) : DateOnly.FromDateTime(Start.UtcDateTime);
            item.DtEnd = new CalDateTime(lastDay > DateOnly.FromDateTime(Start.UtcDateTime) ? lastDay : lastDay.AddDays(1));
        }
        else
        {
            item.DtStart = new CalDateTime(Start.UtcDateTime);
            var end = End ?? (DurationMinutes is { } minutes ? Start.AddMinutes(minutes) : null);
            if (end is { } endAt) item.DtEnd = new CalDateTime(endAt.UtcDateTime);
        }
        item.AddProperty(VersionProperty, version.ToString(CultureInfo.InvariantCulture));
        item.AddProperty(KeyProperty, idempotencyKey);
        item.AddProperty(StartProperty, StartText);
        if (EndText is not null) item.AddProperty(EndProperty, EndText);
        var calendar = new Ical.Net.Calendar { ProductId = "-//Lockstep//Lockstep//EN" };
        calendar.Events.Add(item);
        var text = new CalendarSerializer().SerializeToString(calendar) ?? "";
        return text.ReplaceLineEndings("\r\n");
    }

    /// <summary>The version a stored event carries, or null when it has none (written by someone else).</summary>
    public static long? VersionOf(string ics) =>
        Load(ics)?.Properties.Get<string>(VersionProperty) is { } text && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>A stored event as JSON of the mapped fields (for reconciliation), or null when it holds no VEVENT.</summary>
    public static string? ReadJson(string ics)
    {
        var item = Load(ics);
        if (item is null) return null;
        using var buffer = new MemoryStream();
        // Relaxed escaping: the reconciler compares string values by their JSON text, and the mapping writes '+' as is.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            if (item.Summary is { } summary) writer.WriteString("summary", summary);
            var start = At(item.DtStart);
            var end = At(item.DtEnd);
            if (start is { } s) writer.WriteString("start", Mapped(item, StartProperty, s, item.DtStart!.HasTime));
            if (end is { } e)
            {
                writer.WriteString("end", Mapped(item, EndProperty, e, item.DtEnd!.HasTime));
                if (start is { } from) writer.WriteNumber("durationMinutes", (e - from).TotalMinutes);
            }
            if (item.Location is { } location) writer.WriteString("location", location);
            if (item.Description is { } description) writer.WriteString("description", description);
            if (item.Properties.Get<string>(VersionProperty) is { } version && long.TryParse(version, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
                writer.WriteNumber("version", v);
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static CalendarEvent? Load(string ics)
    {
        try
        {
            return Ical.Net.Calendar.Load(ics)?.Events.FirstOrDefault();
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    private static DateTimeOffset? At(CalDateTime? value) =>
        value is null ? null : value.HasTime
            ? new DateTimeOffset(DateTime.SpecifyKind(value.AsUtc, DateTimeKind.Utc))
            : new DateTimeOffset(value.Date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    // The mapped text when it still names the stored time; otherwise the stored time (someone moved the event).
    private static string Mapped(CalendarEvent item, string property, DateTimeOffset stored, bool hasTime)
    {
        if (item.Properties.Get<string>(property) is { } text && TryParseTime(text, out var mapped, out var allDay) && allDay == !hasTime && mapped == stored)
            return text;
        return hasTime ? stored.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : stored.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }

    /// <summary>An ISO 8601 date (an all-day event) or date-time; a date-time without an offset is taken as UTC.</summary>
    private static bool TryParseTime(string text, out DateTimeOffset value, out bool allDay)
    {
        allDay = false;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            allDay = true;
            value = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return true;
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value)
            && text.Contains('T', StringComparison.Ordinal);
    }

    private static string? Text(JsonElement root, string name, ref string? error)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        error ??= $"mapped field '{name}' must be a string";
        return null;
    }

    private static string Shown(string text) => text.Length <= 40 ? text : text[..37] + "...";
}
