using System.Globalization;
using System.Text.RegularExpressions;

namespace Lockstep.Connectors.Http;

/// <summary>
/// A flow's <c>list</c> operation, <c>GET /path</c>, read page by page. A page named by the answer (a <c>Link</c> header or
/// a <c>next</c> URL) is followed first; otherwise the path's one paging placeholder moves on: <c>{page}</c> (1, 2, …) and
/// <c>{offset}</c> (0, then the items read so far) stop at an empty page, <c>{token}</c> (empty, then the answer's
/// <c>next</c>) stops when the answer names no next token. Without a placeholder, the answer alone names the next page.
/// </summary>
internal sealed partial class HttpListOperation
{
    // The position in a placeholder-paged list travels as "{page}=3"; a followed page is a URL or a path (never starts with '{').
    private const char StateMark = '{';

    private HttpListOperation(string path, string? counter)
    {
        Path = path;
        Counter = counter;
    }

    public string Path { get; }

    /// <summary>The paging placeholder: <c>page</c>, <c>offset</c>, <c>token</c>, or null.</summary>
    public string? Counter { get; }

    public static HttpListOperation? Parse(string text, out string? error)
    {
        error = null;
        var parts = text.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !parts[0].Equals("GET", StringComparison.OrdinalIgnoreCase) || !parts[1].StartsWith('/'))
        {
            error = $"'{text}' is not a list request (write GET /path, e.g. GET /api/records?page={{page}})";
            return null;
        }
        var names = Placeholder().Matches(parts[1]).Select(m => m.Groups[1].Value).ToList();
        if (names.FirstOrDefault(n => n is not ("page" or "offset" or "token")) is { } unknown)
        {
            error = $"unknown placeholder {{{unknown}}} (a list pages with one of {{page}}, {{offset}}, {{token}})";
            return null;
        }
        if (names.Distinct(StringComparer.Ordinal).Count() > 1)
        {
            error = "use one paging placeholder: {page}, {offset} or {token}";
            return null;
        }
        return new HttpListOperation(parts[1], names.FirstOrDefault());
    }

    /// <summary>The path (or URL) to read for <paramref name="nextPage"/>: null for the first page.</summary>
    public string Target(string? nextPage)
    {
        if (nextPage is not null && !nextPage.StartsWith(StateMark)) return nextPage;
        var value = nextPage is null ? Counter switch { "page" => "1", "offset" => "0", _ => "" } : nextPage[(nextPage.IndexOf('=', StringComparison.Ordinal) + 1)..];
        return Counter is null ? Path : Path.Replace($"{{{Counter}}}", Uri.EscapeDataString(value), StringComparison.Ordinal);
    }

    /// <summary>The page after <paramref name="current"/>, which held <paramref name="count"/> items and named <paramref name="answered"/>; null at the end.</summary>
    public string? Next(string? current, int count, string? answered)
    {
        if (Counter == "token") return answered is null ? null : $"{{token}}={answered}";
        if (answered is not null) return answered;
        if (count == 0 || Counter is null || (current is not null && !current.StartsWith(StateMark))) return null;
        var at = current is null ? (Counter == "page" ? 1 : 0) : long.Parse(current[(current.IndexOf('=', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);
        return $"{{{Counter}}}={(Counter == "page" ? at + 1 : at + count).ToString(CultureInfo.InvariantCulture)}";
    }

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Placeholder();
}
