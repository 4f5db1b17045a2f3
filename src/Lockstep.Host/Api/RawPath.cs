using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Lockstep.Host.Api;

/// <summary>
/// Path segments as the client encoded them. The server decodes a path except <c>%2F</c> (so a segment never splits),
/// which leaves a route value ambiguous: <c>a%2Fb</c> may have been sent as <c>a%2Fb</c> (the key <c>a/b</c>) or as
/// <c>a%252Fb</c> (the key <c>a%2Fb</c>). Decoding the raw segment once gives the key that was meant.
/// </summary>
internal static class RawPath
{
    /// <summary>
    /// The decoded segments of the request target when it has the <paramref name="shape"/> of the route (null entries
    /// are the parameters, the others literal segments); null when it does not (a dot segment, an absolute target),
    /// and then the caller keeps the route values.
    /// </summary>
    public static string[]? Segments(HttpContext context, params string?[] shape)
    {
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(target) || target[0] != '/') return null;
        var end = target.IndexOfAny(['?', '#']);
        var parts = (end < 0 ? target : target[..end])[1..].Split('/');
        if (parts.Length != shape.Length) return null;
        var values = new string[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            values[i] = Uri.UnescapeDataString(parts[i]);
            if (shape[i] is { } literal && !string.Equals(values[i], literal, StringComparison.OrdinalIgnoreCase)) return null;
            if (shape[i] is null && parts[i] is "." or ".." or "") return null;
        }
        return values;
    }
}
