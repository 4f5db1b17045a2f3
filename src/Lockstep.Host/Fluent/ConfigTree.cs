using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Lockstep.Host.Fluent;

/// <summary>
/// The fluent builder's output: the same configuration tree the YAML file describes, written as YAML and loaded by the
/// one <see cref="Configuration.ConfigLoader"/>, so code-built and file-built engines are validated alike.
/// </summary>
internal sealed class ConfigTree
{
    private readonly SortedDictionary<string, object> _root = new(StringComparer.Ordinal);

    /// <summary>The mapping at a path of keys, created on first use.</summary>
    public SortedDictionary<string, object> At(params string[] path)
    {
        var node = _root;
        foreach (var key in path)
        {
            if (!node.TryGetValue(key, out var child))
            {
                child = new SortedDictionary<string, object>(StringComparer.Ordinal);
                node[key] = child;
            }
            node = child as SortedDictionary<string, object> ?? throw new InvalidOperationException($"'{key}' is already set to a value");
        }
        return node;
    }

    public string ToYaml()
    {
        var text = new StringBuilder();
        Write(text, _root, 0);
        return text.ToString();
    }

    private static void Write(StringBuilder text, SortedDictionary<string, object> node, int indent)
    {
        foreach (var (key, value) in node)
        {
            text.Append(' ', indent).Append(Key(key)).Append(':');
            switch (value)
            {
                case SortedDictionary<string, object> child:
                    text.Append('\n');
                    Write(text, child, indent + 2);
                    break;
                case Script script:
                    // A block scalar: JavaScript needs no escaping, and the loader locates script errors inside it.
                    text.Append(" |\n");
                    foreach (var line in script.Source.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
                        text.Append(' ', indent + 2).Append(line).Append('\n');
                    break;
                case IEnumerable<string> list:
                    text.Append(" [").AppendJoin(", ", list.Select(Quote)).Append("]\n");
                    break;
                default:
                    text.Append(' ').Append(Scalar(value)).Append('\n');
                    break;
            }
        }
    }

    private static string Scalar(object value) => value switch
    {
        bool b => b ? "true" : "false",
        int or long => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        TimeSpan span => Quote(Duration(span)),
        _ => Quote(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""),
    };

    // Plain keys where possible: the loader recognises script keys (map, filter) by their plain spelling.
    private static string Key(string key) =>
        key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') && char.IsAsciiLetter(key[0]) ? key : Quote(key);

    // YAML double-quoted scalars accept JSON string escapes.
    private static string Quote(string value) => JsonSerializer.Serialize(value);

    private static string Duration(TimeSpan span) =>
        span.TotalMilliseconds % 1000 != 0 ? $"{(long)span.TotalMilliseconds}ms"
        : span.TotalSeconds % 60 != 0 ? $"{(long)span.TotalSeconds}s"
        : span.TotalMinutes % 60 != 0 ? $"{(long)span.TotalMinutes}m"
        : $"{(long)span.TotalHours}h";

    /// <summary>A JavaScript function text (map, filter), written as a block scalar.</summary>
    public sealed record Script(string Source);
}
