using System.Text.Json;
using Lockstep.Events;
using Lockstep.Records;

namespace Lockstep.Host.Api;

/// <summary>
/// Reads a publish body (one event or an array) and validates it as a whole: either every event is valid, or every
/// problem is counted by index and field, the first <see cref="MaxListedErrors"/> are listed, and nothing is stored.
/// </summary>
internal static class EventParser
{
    private static readonly HashSet<string> Fields = ["id", "type", "entity", "key", "version", "op", "data", "targets"];
    private static readonly string UnknownField = $"unknown field (expected: {string.Join(", ", Fields)})";
    public const int MaxIdLength = 256;
    private const int MaxNameLength = 256;
    private const int MaxKeyLength = 1024;

    /// <summary>How many problems an answer lists; the rest are counted (an answer stays small whatever the body).</summary>
    public const int MaxListedErrors = 100;

    /// <param name="isTarget">Whether a name in an event's <c>targets</c> is a flow or system of the configuration.</param>
    public static (List<Event> Events, Errors Errors) Parse(JsonElement root, Func<string, bool>? isTarget = null)
    {
        isTarget ??= _ => true;
        var events = new List<Event>();
        var errors = new Errors();
        if (root.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var item in root.EnumerateArray()) ParseOne(item, index++, events, errors, isTarget);
            if (index == 0) errors.Add(new FieldError(null, "", "the array is empty"));
        }
        else if (root.ValueKind == JsonValueKind.Object)
        {
            ParseOne(root, null, events, errors, isTarget);
        }
        else
        {
            errors.Add(new FieldError(null, "", "the body must be an event object or an array of events"));
        }
        return (events, errors);
    }

    private static void ParseOne(JsonElement item, int? index, List<Event> events, Errors errors, Func<string, bool> isTarget)
    {
        var before = errors.Count;
        void Fail(string field, string message) => errors.Add(new FieldError(index, index is null ? field : $"[{index}].{field}", message));

        if (item.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new FieldError(index, index is null ? "" : $"[{index}]", "must be an event object"));
            return;
        }
        var unreadable = false;
        foreach (var property in item.EnumerateObject())
        {
            if (Name(property) is not { } name)
            {
                unreadable = true;
                Fail("", "a field name " + LoneSurrogate);
            }
            else if (!Fields.Contains(name)) Fail(name, UnknownField);
        }
        if (unreadable) return; // its fields cannot be looked up by name

        var id = Text(item, "id", required: false, MaxIdLength, Fail);
        var type = Text(item, "type", required: true, MaxNameLength, Fail);
        var entity = Text(item, "entity", required: true, MaxNameLength, Fail);
        var key = Text(item, "key", required: true, MaxKeyLength, Fail);

        long? version = null;
        if (item.TryGetProperty("version", out var v) && v.ValueKind != JsonValueKind.Null)
        {
            if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) && n >= 1 && n <= Event.MaxVersion) version = n;
            else if (v.ValueKind == JsonValueKind.Number && v.TryGetDecimal(out var large) && large > Event.MaxVersion && decimal.Truncate(large) == large)
                Fail("version", $"must be at most {Event.MaxVersion} (2^62 - 1; the versions above it are left for the ones Lockstep assigns)");
            else Fail("version", "must be a positive whole number");
        }

        var op = RecordOp.Upsert;
        if (item.TryGetProperty("op", out var o) && o.ValueKind != JsonValueKind.Null)
        {
            var text = o.ValueKind == JsonValueKind.String ? Unicode(o) : null;
            if (text == "upsert") op = RecordOp.Upsert;
            else if (text == "delete") op = RecordOp.Delete;
            else if (o.ValueKind == JsonValueKind.String && text is null) Fail("op", LoneSurrogate);
            else Fail("op", "must be \"upsert\" or \"delete\"");
        }

        string? data = null;
        if (item.TryGetProperty("data", out var body) && body.ValueKind != JsonValueKind.Null)
        {
            if (body.ValueKind == JsonValueKind.Object) data = body.GetRawText();
            else Fail("data", "must be a JSON object (the record's full state)");
        }
        else if (op == RecordOp.Upsert)
        {
            Fail("data", "is required for an upsert");
        }

        var targets = Targets(item, isTarget, Fail);

        if (errors.Count > before) return;
        // Without an id, a versioned event is identified by its version, so a resend is recognised as a duplicate.
        id ??= version is { } ver ? EventIds.Derived(entity!, key!, ver) : "";
        events.Add(new Event(id, type!, entity!, key!, version, op, data) { Targets = targets });
    }

    /// <summary>The event's <c>targets</c>: a non-empty array of flow or system names; each bad entry named by its index.</summary>
    private static List<string>? Targets(JsonElement item, Func<string, bool> isTarget, Action<string, string> fail)
    {
        if (!item.TryGetProperty("targets", out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Array)
        {
            fail("targets", "must be an array of flow or system names");
            return null;
        }
        if (value.GetArrayLength() == 0)
        {
            fail("targets", "must name at least one flow or system (leave it out to route by type and entity)");
            return null;
        }
        var targets = new List<string>();
        var i = 0;
        foreach (var entry in value.EnumerateArray())
        {
            var field = $"targets[{i++}]";
            var name = entry.ValueKind == JsonValueKind.String ? Unicode(entry) : null;
            if (name is null) fail(field, "must be a flow or system name (a string)");
            else if (!isTarget(name)) fail(field, $"'{(name.Length > MaxNameLength ? name[..MaxNameLength] + "..." : name)}' is not a flow, nor a system a flow writes to");
            else targets.Add(name);
        }
        return targets;
    }

    private const string LoneSurrogate = "must be valid Unicode (it holds a lone surrogate, \\ud800-\\udfff without its pair)";

    /// <summary>A JSON string's text; null when it holds a lone surrogate (which .NET refuses to read as a string).</summary>
    private static string? Unicode(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static string? Name(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
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
        if (Unicode(value) is not { } text)
        {
            fail(field, LoneSurrogate);
            return null;
        }
        if (text.Length == 0 || string.IsNullOrWhiteSpace(text)) fail(field, "must not be empty");
        else if (text.Length > maxLength) fail(field, $"must be at most {maxLength} characters");
        else if (text.Any(char.IsControl)) fail(field, "must not contain control characters");
        else return text;
        return null;
    }

    /// <summary>Every problem counted; the first <see cref="MaxListedErrors"/> kept to be listed.</summary>
    internal sealed class Errors
    {
        public List<FieldError> Listed { get; } = [];

        public int Count { get; private set; }

        public void Add(FieldError error)
        {
            Count++;
            if (Listed.Count < MaxListedErrors) Listed.Add(error);
        }
    }
}
