using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Lockstep.Configuration;

/// <summary>
/// A YAML mapping with its key path and line. Readers record a located error and return null instead of throwing,
/// so one pass reports every problem in the file.
/// </summary>
public sealed class ConfigSection
{
    private readonly YamlMappingNode _node;

    internal ConfigSection(YamlMappingNode node, string path, ConfigContext context)
    {
        _node = node;
        Path = path;
        Context = context;
    }

    public string Path { get; }

    public int Line => (int)_node.Start.Line;

    public ConfigContext Context { get; }

    public bool Has(string key) => Find(key) is not null;

    public IEnumerable<string> Keys => _node.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value ?? "");

    public string Child(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    public int LineOf(string key) => Find(key) is { } node ? (int)node.Start.Line : Line;

    public void Error(string key, string message) => Context.Error(LineOf(key), Child(key), message);

    public void Error(string message) => Context.Error(Line, Path, message);

    /// <summary>Reports every key not in <paramref name="known"/>; keys in <paramref name="later"/> as not supported yet.</summary>
    public void CheckKeys(IEnumerable<string> known, IEnumerable<string>? later = null)
    {
        var allowed = new HashSet<string>(known, StringComparer.Ordinal);
        var future = new HashSet<string>(later ?? [], StringComparer.Ordinal);
        foreach (var (keyNode, _) in _node.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            if (allowed.Contains(key)) continue;
            var message = future.Contains(key)
                ? $"'{key}' is not supported yet"
                : $"unknown key '{key}'" + Suggest(key, allowed);
            Context.Error((int)keyNode.Start.Line, Child(key), message);
        }
    }

    private static string Suggest(string key, HashSet<string> allowed)
    {
        var close = allowed.FirstOrDefault(a => string.Equals(a, key, StringComparison.OrdinalIgnoreCase));
        return close is null ? $" (expected one of: {string.Join(", ", allowed.Order(StringComparer.Ordinal))})" : $" (did you mean '{close}'?)";
    }

    public ConfigSection? Section(string key, bool required = false)
    {
        var node = Find(key);
        if (node is null || IsNull(node))
        {
            if (required) Error(key, "is required");
            return null;
        }
        if (node is YamlMappingNode mapping) return new ConfigSection(mapping, Child(key), Context);
        Context.Error((int)node.Start.Line, Child(key), "must be a mapping");
        return null;
    }

    /// <summary>A list of mappings, such as <c>apiKeys:</c>, each a section; null when absent.</summary>
    public IReadOnlyList<ConfigSection>? Items(string key)
    {
        var node = Find(key);
        if (node is null || IsNull(node)) return null;
        if (node is not YamlSequenceNode sequence)
        {
            Context.Error((int)node.Start.Line, Child(key), "must be a list");
            return null;
        }
        var items = new List<ConfigSection>();
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            if (sequence.Children[i] is YamlMappingNode mapping) items.Add(new ConfigSection(mapping, $"{Child(key)}[{i}]", Context));
            else Context.Error((int)sequence.Children[i].Start.Line, $"{Child(key)}[{i}]", "must be a mapping");
        }
        return items;
    }

    /// <summary>The named entries of a mapping such as <c>systems:</c>, each a section.</summary>
    public IEnumerable<(string Name, ConfigSection Section)> Entries()
    {
        foreach (var (keyNode, valueNode) in _node.Children)
        {
            var name = (keyNode as YamlScalarNode)?.Value ?? "";
            if (valueNode is YamlMappingNode mapping) yield return (name, new ConfigSection(mapping, Child(name), Context));
            else Context.Error((int)keyNode.Start.Line, Child(name), "must be a mapping");
        }
    }

    public string? String(string key, bool required = false) => Scalar(key, required, out _, out _);

    /// <summary>The value if the key holds a single value; null (and no error) if it holds a mapping or list.</summary>
    public string? ScalarOrNull(string key) => Find(key) is YamlScalarNode { Value: { } value } ? value : null;

    /// <summary>A value that must not leak: registered with the redactor whether or not it came from the environment.</summary>
    public Secret? SecretValue(string key, bool required = false)
    {
        var value = Scalar(key, required, out _, out _);
        if (value is null) return null;
        Context.Secrets.Add(value, always: true);
        return new Secret(value);
    }

    /// <summary>An absolute http:// or https:// URL; anything else is an error naming the key.</summary>
    public Uri? HttpUrl(string key, bool required = false)
    {
        var text = String(key, required);
        if (text is null) return null;
        if (Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme is "http" or "https") return url;
        Error(key, "must be an absolute http:// or https:// URL");
        return null;
    }

    /// <summary>
    /// Standard Webhooks secrets (<c>whsec_</c> + base64) from any of <paramref name="keys"/> (a value or a list, for
    /// rotation), each registered as a secret; a malformed one is an error naming its key.
    /// </summary>
    public IReadOnlyList<Secret> WebhookSecrets(params string[] keys)
    {
        var secrets = new List<Secret>();
        foreach (var key in keys)
        {
            foreach (var value in StringList(key))
            {
                Context.Secrets.Add(value, always: true);
                var buffer = new byte[value.Length];
                if (value.StartsWith("whsec_", StringComparison.Ordinal) && value.Length > 6 && Convert.TryFromBase64String(value[6..], buffer, out var written) && written > 0)
                    secrets.Add(new Secret(value));
                else Error(key, "must be a whsec_ secret (whsec_ followed by base64)");
            }
        }
        return secrets;
    }

    public string? RawScript(string key)
    {
        var node = Find(key);
        if (node is null || IsNull(node)) return null;
        if (node is YamlScalarNode scalar) return scalar.Value;
        Context.Error((int)node.Start.Line, Child(key), "must be a JavaScript function written as a string");
        return null;
    }

    public int? Int(string key, int min, int max)
    {
        var text = Scalar(key, false, out _, out var written);
        if (text is null) return null;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            Error(key, $"{Shown(text, written)} is not a whole number");
            return null;
        }
        if (value < min || value > max)
        {
            Error(key, $"{(written is null ? value : Shown(text, written))} must be between {min} and {max}");
            return null;
        }
        return value;
    }

    public double? Double(string key, double min, double max)
    {
        var text = Scalar(key, false, out _, out var written);
        if (text is null) return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Error(key, $"{Shown(text, written)} must be a number between {min} and {max}");
            return null;
        }
        return value;
    }

    public bool? Bool(string key)
    {
        var text = Scalar(key, false, out _, out var written);
        if (text is null) return null;
        if (bool.TryParse(text, out var value)) return value;
        Error(key, $"{Shown(text, written)} must be true or false");
        return null;
    }

    public TimeSpan? Duration(string key, TimeSpan? min = null, TimeSpan? max = null)
    {
        var text = Scalar(key, false, out _, out var written);
        if (text is null) return null;
        if (!Durations.TryParse(text, out var value))
        {
            Error(key, $"{Shown(text, written)} is not a duration (write e.g. 250ms, 5s, 10m, 1h)");
            return null;
        }
        if ((min is { } lo && value < lo) || (max is { } hi && value > hi))
        {
            Error(key, $"{(written is null ? text : Shown(text, written))} must be between {Durations.Format(min ?? TimeSpan.Zero)} and {Durations.Format(max ?? TimeSpan.MaxValue)}");
            return null;
        }
        return value;
    }

    public long? Size(string key, long min, long max)
    {
        var text = Scalar(key, false, out _, out var written);
        if (text is null) return null;
        if (!Sizes.TryParse(text, out var value) || value < min || value > max)
        {
            Error(key, $"{Shown(text, written)} must be a size between {min} and {max} bytes (write e.g. 4MB, 512KB)");
            return null;
        }
        return value;
    }

    /// <summary>A scalar or a sequence of scalars.</summary>
    public IReadOnlyList<string> StringList(string key)
    {
        var node = Find(key);
        if (node is null || IsNull(node)) return [];
        if (node is YamlScalarNode) return String(key) is { } one ? [one] : [];
        if (node is YamlSequenceNode sequence)
        {
            var list = new List<string>();
            foreach (var item in sequence.Children)
            {
                if (item is YamlScalarNode { Value: { } v } s)
                {
                    if (Context.Resolve(v, (int)s.Start.Line, Child(key), out _) is { } resolved) list.Add(resolved);
                }
                else Context.Error((int)item.Start.Line, Child(key), "must be a list of strings");
            }
            return list;
        }
        Context.Error((int)node.Start.Line, Child(key), "must be a string or a list of strings");
        return [];
    }

    /// <summary>A mapping of string to string, such as <c>headers:</c>.</summary>
    public IReadOnlyDictionary<string, string> StringMap(string key)
    {
        var section = Section(key);
        if (section is null) return new Dictionary<string, string>();
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in section.Keys)
        {
            if (section.String(name) is { } value) map[name] = value;
        }
        return map;
    }

    private string? Scalar(string key, bool required, out int line, out string? written)
    {
        written = null;
        var node = Find(key);
        line = node is null ? Line : (int)node.Start.Line;
        if (node is null || IsNull(node))
        {
            if (required) Error(key, "is required");
            return null;
        }
        if (node is not YamlScalarNode scalar)
        {
            Context.Error(line, Child(key), "must be a single value, not a " + (node is YamlSequenceNode ? "list" : "mapping"));
            return null;
        }
        return Context.Resolve(scalar.Value ?? "", line, Child(key), out written);
    }

    private YamlNode? Find(string key) =>
        _node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: null or "" or "~" or "null" };

    // A value is echoed in an error only when written in the file, and short (a long value may be a pasted credential);
    // one taken from the environment is named by its variable instead.
    private static string Shown(string text, string? written) =>
        written is not null ? ConfigContext.Describe(written) : text.Length <= 40 ? $"'{text}'" : $"'{text[..37]}...'";
}
