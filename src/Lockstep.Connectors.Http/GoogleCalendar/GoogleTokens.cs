using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Lockstep.Connectors.Http.GoogleCalendar;

/// <summary>
/// Access tokens for the Calendar API: a service account signs a JWT (RS256; iss = client_email, scope, aud = token_uri,
/// iat, exp = iat + 1h, sub when delegating) and exchanges it with the RFC 7523 grant; a refresh token is exchanged with
/// the refresh_token grant. A token is reused until a minute before it expires, or until the API answers 401.
/// </summary>
internal sealed class GoogleTokens(GoogleCredentials credentials, HttpClient client, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private string? _token;
    private DateTimeOffset _expires;

    public void Dispose() => _lock.Dispose();

    public void Invalidate(string token)
    {
        if (_token == token) _token = null;
    }

    /// <summary>A valid access token, or throws <see cref="GoogleTokenException"/> saying why none could be had.</summary>
    public async Task<string> GetAsync(CancellationToken cancellationToken)
    {
        if (_token is { } cached && time.GetUtcNow() < _expires) return cached;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is { } again && time.GetUtcNow() < _expires) return again;
            var now = time.GetUtcNow();
            var form = credentials switch
            {
                ServiceAccountCredentials sa => new Dictionary<string, string>
                {
                    ["grant_type"] = "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    ["assertion"] = Assertion(sa, now),
                },
                RefreshTokenCredentials rt => new Dictionary<string, string>
                {
                    ["grant_type"] = "refresh_token",
                    ["client_id"] = rt.ClientId,
                    ["client_secret"] = rt.ClientSecret.Reveal(),
                    ["refresh_token"] = rt.RefreshToken.Reveal(),
                },
                _ => throw new InvalidOperationException("unknown credentials"),
            };
            using var request = new HttpRequestMessage(HttpMethod.Post, credentials.TokenUrl) { Content = new FormUrlEncodedContent(form) };
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                // invalid_grant, invalid_client: the credentials are wrong (an operator fixes them for every record at once).
                var what = Describe(body);
                throw new GoogleTokenException($"the token endpoint answered HTTP {status}{what}", status);
            }
            using var json = JsonDocument.Parse(body);
            var token = json.RootElement.TryGetProperty("access_token", out var t) ? t.GetString() : null;
            if (string.IsNullOrEmpty(token)) throw new GoogleTokenException("the token endpoint's answer has no access_token", status);
            var lifetime = json.RootElement.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : 3600;
            _token = token;
            _expires = now + TimeSpan.FromSeconds(Math.Max(0, lifetime - 60));
            return token;
        }
        catch (JsonException)
        {
            throw new GoogleTokenException("the token endpoint's answer is not JSON", null);
        }
        finally
        {
            _lock.Release();
        }
    }

    private static string Describe(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            var error = json.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            var description = json.RootElement.TryGetProperty("error_description", out var d) ? d.GetString() : null;
            return error is null ? "" : $": {error}{(description is null ? "" : $" ({description})")}";
        }
        catch (JsonException)
        {
            return "";
        }
    }

    /// <summary>The signed JWT of RFC 7523 section 2.1, as Google's service accounts use it.</summary>
    public static string Assertion(ServiceAccountCredentials sa, DateTimeOffset now)
    {
        var header = new Dictionary<string, string> { ["alg"] = "RS256", ["typ"] = "JWT" };
        if (sa.KeyId is not null) header["kid"] = sa.KeyId;
        var iat = now.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = sa.ClientEmail,
            ["scope"] = sa.Scope,
            ["aud"] = sa.TokenUrl.ToString(),
            ["iat"] = iat,
            ["exp"] = iat + 3600,
        };
        if (sa.Subject is not null) claims["sub"] = sa.Subject;
        var signingInput = Base64Url(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = sa.Key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url(signature);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

internal sealed class GoogleTokenException(string message, int? status) : Exception(message)
{
    public int? Status { get; } = status;
}
