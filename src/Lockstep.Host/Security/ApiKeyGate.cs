using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Lockstep.Configuration;
using Lockstep.Host.Api;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Host.Security;

/// <summary>
/// API keys: <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c> (or the dashboard's key cookie); only the
/// SHA-256 of each key is held, and every key is compared in constant time. An address that keeps presenting wrong
/// keys is refused with 429 for a while (brute force). The authentication scheme (<see cref="ApiKeyHandler"/>) and
/// the dashboard's login form both check keys here.
/// </summary>
internal sealed class ApiKeyGate(IReadOnlyList<ApiKey> keys, TimeProvider time)
{
    private const int MaxFailures = 10;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (int Count, DateTimeOffset Since)> _failures = new(StringComparer.Ordinal);

    /// <summary>
    /// Whether this address sent too many wrong keys within the window; if so, sets <c>Retry-After</c>. The login form
    /// asks this too, so it is no way around the limit.
    /// </summary>
    public bool Throttled(HttpContext context)
    {
        var now = time.GetUtcNow();
        if (!_failures.TryGetValue(Address(context), out var record) || record.Count < MaxFailures || now - record.Since >= Window) return false;
        context.Response.Headers.RetryAfter = ((int)Math.Ceiling((Window - (now - record.Since)).TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>The configured key matching <paramref name="presented"/>; null (and a failure counted for the address) when none does.</summary>
    public ApiKey? Authenticate(HttpContext context, string presented)
    {
        if (Match(presented) is { } key) return key;
        var now = time.GetUtcNow();
        _failures.AddOrUpdate(Address(context), _ => (1, now), (_, r) => now - r.Since >= Window ? (1, now) : (r.Count + 1, r.Since));
        return null;
    }

    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    internal static string? Presented(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return authorization[7..].Trim();
        var header = request.Headers["X-Api-Key"].ToString();
        if (header.Length > 0) return header;
        // The dashboard's login sets the key as an HttpOnly cookie; SameSite=Strict keeps other sites from sending it.
        return request.Cookies.TryGetValue(Dashboard.DashboardEndpoints.Cookie, out var cookie) && cookie.Length > 0 ? cookie : null;
    }

    private ApiKey? Match(string presented)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        ApiKey? found = null;
        // Every key is compared, so the time taken does not tell which (or whether one) matched.
        foreach (var key in keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash)) found = key;
        }
        return found;
    }
}
