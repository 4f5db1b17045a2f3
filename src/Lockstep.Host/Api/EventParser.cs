using System.Text.Json;
using Lockstep.Events;
using Lockstep.Records;

namespace Lockstep.Host.Api;

/// <summary>
/// Reads a publish body (one event or an array) and validates it as a whole: either every event is valid, or every
/// problem is reported by index and field and nothing is stored.
/// </summary>
internal static class EventParser
{
    private static readonly HashSet<string> Fields = ["id", "type", "entity", "key", "version", "op", "data"];
    private const int MaxIdLength = 256;
    private const int MaxNameLength = 256;
    private const int MaxKeyLength = 1024;

    public static (List<Event> Events, List<FieldError> Errors) Parse(JsonElement root)
    {
        var events = new List<Event>();
        var errors = new List<FieldError>();
        if (root.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var item in root.EnumerateArray()) ParseOne(item, index++, events, errors);
            if (index == 0) errors.Add(new FieldError(null, "", "the array is empty"));
        }
        else if (root.ValueKind == JsonValueKind.Object)
        {
            ParseOne(root, null, events, errors);
        }
        else
        {
            errors.Add(new FieldError(null, "", "the body must be an event object or an array of events"));
        }
        return (events, errors);
    }

    private static void ParseOne(JsonElement item, int? index, List<Event> events, List<FieldError> errors)
    {
        var before = errors.Count;
        void Fail(string field, string message) => errors.Add(new FieldError(index, index is null ? field : $"[{index}].{field}", message));

        if (item.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new FieldError(index, index is null ? "" : $"[{index}]", "must be an event object"));
            return;
        }
        foreach (var property in item.EnumerateObject())
        {
            if (!Fields.Contains(property.Name)) Fail(property.Name, $"unknown field (expected: {string.Join(", ", Fields)})");
        }

        var id = Text(item, "id", required: false, MaxIdLength, Fail);
        var type = Text(item, "type", required: true, MaxNameLength, Fail);
        var entity = Text(item, "entity", required: true, MaxNameLength, Fail);
        var key = Text(item, "key", required: true, MaxKeyLength, Fail);

        long? version = null;
        if (item.TryGetProperty("version", out var v) && v.ValueKind != JsonValueKind.Null)
        {
            if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) && n >= 1) version = n;
            else Fail("version", "must be a positive whole number");
        }

        var op = RecordOp.Upsert;
        if (item.TryGetProperty("op", out var o) && o.ValueKind != JsonValueKind.Null)
        {
            if (o.ValueKind == JsonValueKind.String && o.GetString() == "upsert") op = RecordOp.Upsert;
            else if (o.ValueKind == JsonValueKind.String && o.GetString() == "delete") op = RecordOp.Delete;
            else Fail("op", "must be \"upsert\" or \"delete\"");
        }

        string? data = null;
        if (item.TryGetProperty("data", out var d) && d.ValueKind != JsonValueKind.Null)
        {
            if (d.ValueKind == JsonValueKind.Object) data = d.GetRawText();
            else Fail("data", "must be a JSON object (the record's full state)");
        }
        else if (op == RecordOp.Upsert)
        {
            Fail("data", "is required for an upsert");
        }

        if (errors.Count > before) return;
        // Without an id, a versioned event is identified by its version, so a resend is recognised as a duplicate.
        id ??= version is { } ver ? $"{entity}:{key}:{ver}" : "";
        events.Add(new Event(id, type!, entity!, key!, version, op, data));
    }

    private static string? Text(JsonElement item, string field, bool required, int maxLength, Action<string, string> fail)
    {
        if (!item.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required) fail(field, "is required");
            return null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            fail(field, "must be a string");
            return null;
        }
        var text = value.GetString()!;
        if (text.Length == 0 || string.IsNullOrWhiteSpace(text)) fail(field, "must not be empty");
        else if (text.Length > maxLength) fail(field, $"must be at most {maxLength} characters");
        else if (text.Any(char.IsControl)) fail(field, "must not contain control characters");
        else return text;
        return null;
    }
}
