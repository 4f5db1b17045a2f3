using System.Globalization;
using System.Text.Json;

namespace Lockstep.Connectors.Http;

/// <summary>
/// A simple JSON path to one value of an answer: <c>$</c>, then <c>.name</c>, <c>['name']</c> or <c>[index]</c> steps
/// (e.g. <c>$.items[0].id</c>). A string or a number is the value (a number as written); anything else, or a missing
/// step, is no value.
/// </summary>
internal sealed class JsonPath
{
    private readonly IReadOnlyList<object> _steps; // string: a property; int: an array index

    private JsonPath(string text, IReadOnlyList<object> steps)
    {
        Text = text;
        _steps = steps;
    }

    public string Text { get; }

    public static JsonPath? Parse(string text, out string? error)
    {
        error = null;
        var steps = new List<object>();
        var t = text.Trim();
        var at = 1;
        if (!t.StartsWith('$')) return Fail(text, "it must start with $", out error);
        while (at < t.Length)
        {
            if (t[at] == '.')
            {
                var end = at + 1;
                while (end < t.Length && t[end] is not ('.' or '[')) end++;
                if (end == at + 1) return Fail(text, $"an empty name at position {at + 1}", out error);
                steps.Add(t[(at + 1)..end]);
                at = end;
            }
            else if (t[at] == '[')
            {
                var end = t.IndexOf(']', at);
                if (end < 0) return Fail(text, $"'[' at position {at + 1} is not closed", out error);
                var inner = t[(at + 1)..end].Trim();
                if (inner.Length >= 2 && inner[0] is '\'' or '"' && inner[^1] == inner[0]) steps.Add(inner[1..^1]);
                else if (int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out var index)) steps.Add(index);
                else return Fail(text, $"'[{inner}]' is neither an index nor a quoted name", out error);
                at = end + 1;
            }
            else
            {
                return Fail(text, $"unexpected '{t[at]}' at position {at + 1}", out error);
            }
        }
        return new JsonPath(t, steps);
    }

    private static JsonPath? Fail(string text, string why, out string error)
    {
        error = $"'{text}' is not a JSON path ({why}; write e.g. $.id or $.items[0].id)";
        return null;
    }

    /// <summary>The string or number at the path, as text; null when there is none.</summary>
    public string? Find(JsonElement root)
    {
        var at = root;
        foreach (var step in _steps)
        {
            if (step is string name)
            {
                if (at.ValueKind != JsonValueKind.Object || !at.TryGetProperty(name, out at)) return null;
            }
            else
            {
                var index = (int)step;
                if (at.ValueKind != JsonValueKind.Array || index >= at.GetArrayLength()) return null;
                at = at[index];
            }
        }
        return at.ValueKind switch
        {
            JsonValueKind.String => at.GetString() is { Length: > 0 } s ? s : null,
            JsonValueKind.Number => at.GetRawText(),
            _ => null,
        };
    }
}
