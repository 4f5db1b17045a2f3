using System.Text.RegularExpressions;
using Lockstep.Deliveries;
using Lockstep.Records;

namespace Lockstep.Connectors.Http;

/// <summary>An operation written <c>METHOD /path/{key}</c>; <c>{key}</c>, <c>{entity}</c>, <c>{version}</c>, <c>{flow}</c> are filled per delivery.</summary>
internal sealed partial class HttpOperation
{
    private static readonly string[] Methods = ["POST", "PUT", "PATCH", "DELETE"];

    private HttpOperation(HttpMethod method, string path)
    {
        Method = method;
        Path = path;
    }

    public HttpMethod Method { get; }

    public string Path { get; }

    /// <param name="targetId">Whether <c>{targetId}</c> (the target's own id, from the identity map) may appear.</param>
    public static HttpOperation? Parse(string text, out string? error, bool allowGet = false, bool targetId = false)
    {
        error = null;
        var parts = text.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var method = parts.Length > 0 ? parts[0].ToUpperInvariant() : "";
        if (parts.Length != 2 || !(Methods.Contains(method) || (allowGet && method == "GET")) || !parts[1].StartsWith('/'))
        {
            error = $"'{text}' is not an operation (write METHOD /path, e.g. PUT /api/records/{{key}}; methods: {string.Join(", ", Methods)})";
            return null;
        }
        if (Templates.Unknown(parts[1], targetId) is { } unknown)
        {
            error = unknown == "targetId"
                ? "{targetId} is only known on a flow whose target assigns its own ids ('create:' with 'createId:'), in update, delete and get"
                : $"unknown placeholder {{{unknown}}} (use {{key}}, {{entity}}, {{version}}, {{flow}}{(targetId ? ", {targetId}" : "")})";
            return null;
        }
        return new HttpOperation(new HttpMethod(parts[0].ToUpperInvariant()), parts[1]);
    }

    public string RenderPath(Delivery delivery, string? targetId = null) => Templates.Render(Path, delivery, targetId);
}

/// <summary>
/// Fills <c>{key}</c>, <c>{entity}</c>, <c>{version}</c>, <c>{flow}</c> in paths and header values, each written with
/// <see cref="KeyEncoder"/> (percent-encoded UTF-8), the same in a path as in a header.
/// </summary>
internal static partial class Templates
{
    private static readonly string[] Known = ["key", "entity", "version", "flow"];

    public static string? Unknown(string template, bool targetId = false) =>
        Placeholder().Matches(template).Select(m => m.Groups[1].Value).FirstOrDefault(name => !Known.Contains(name) && !(targetId && name == "targetId"));

    public static bool HasTargetId(string template) => Placeholder().Matches(template).Any(m => m.Groups[1].Value == "targetId");

    /// <param name="targetId">The target's own id for <c>{targetId}</c>; null where none applies.</param>
    public static string Render(string template, Delivery d, string? targetId = null)
    {
        if (!template.Contains('{', StringComparison.Ordinal)) return template;
        return Placeholder().Replace(template, m =>
        {
            return m.Groups[1].Value switch
            {
                "key" => KeyEncoder.Encode(d.Key),
                "entity" => KeyEncoder.Encode(d.Entity),
                "version" => d.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "flow" => KeyEncoder.Encode(d.Flow),
                "targetId" when targetId is not null => KeyEncoder.Encode(targetId),
                _ => m.Value,
            };
        });
    }

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Placeholder();
}
