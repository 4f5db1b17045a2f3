using System.Globalization;
using System.Text;
using Lockstep.Configuration;
using Lockstep.Deliveries;

namespace Lockstep.Connectors.Messaging.Topics;

/// <summary>
/// A subject, routing key or topic with placeholders filled per delivery: <c>{entity}</c>, <c>{key}</c>, <c>{type}</c>,
/// <c>{flow}</c>, <c>{version}</c>. Values are cleaned by the broker's rules, so a key can never add a level or a wildcard.
/// </summary>
internal sealed class TopicTemplate
{
    private static readonly string[] Holes = ["entity", "key", "type", "flow", "version"];
    private readonly string _text;
    private readonly Func<string, string> _clean;

    private TopicTemplate(string text, Func<string, string> clean)
    {
        _text = text;
        _clean = clean;
    }

    /// <summary>Reads a template from <paramref name="key"/>; an unknown placeholder is an error naming the key.</summary>
    public static TopicTemplate? Read(ConfigSection section, string key, Func<string, string> clean, bool required = true)
    {
        var text = section.String(key, required);
        if (text is null) return null;
        for (var open = text.IndexOf('{', StringComparison.Ordinal); open >= 0; open = text.IndexOf('{', open + 1))
        {
            var close = text.IndexOf('}', open);
            var hole = close < 0 ? text[open..] : text[(open + 1)..close];
            if (close < 0 || !Holes.Contains(hole))
            {
                section.Error(key, $"'{{{hole.TrimStart('{')}' is not a placeholder (use {{entity}}, {{key}}, {{type}}, {{flow}} or {{version}})");
                return null;
            }
        }
        return new TopicTemplate(text, clean);
    }

    public string Render(Delivery delivery)
    {
        if (!_text.Contains('{', StringComparison.Ordinal)) return _text;
        var builder = new StringBuilder(_text);
        builder.Replace("{entity}", _clean(delivery.Entity)).Replace("{key}", _clean(delivery.Key)).Replace("{type}", _clean(delivery.EventType))
            .Replace("{flow}", _clean(delivery.Flow)).Replace("{version}", delivery.Version.ToString(CultureInfo.InvariantCulture));
        return builder.ToString();
    }

    public override string ToString() => _text;

    /// <summary>Replaces the characters in <paramref name="reserved"/> (and whitespace) by '_'.</summary>
    public static Func<string, string> Replacing(string reserved) => value =>
    {
        var chars = value.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsWhiteSpace(chars[i]) || char.IsControl(chars[i]) || reserved.Contains(chars[i], StringComparison.Ordinal)) chars[i] = '_';
        }
        return chars.Length == 0 ? "_" : new string(chars);
    };
}
