using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Lockstep.Connectors.Http;

/// <summary>
/// OAuth2 client-credentials tokens for one system: fetched once and shared by every request until shortly before
/// they expire (or, without <c>expires_in</c>, until the API answers 401); one fetch at a time.
/// </summary>
internal sealed class OAuth2Tokens(OAuth2Options options, HttpClient client, TimeProvider time) : IDisposable
{
    // A token is renewed this long before its expiry, so it cannot lapse in flight.
    private static readonly TimeSpan EarlyRenewal = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _fetching = new(1, 1);
    private volatile Token? _current;

    public async ValueTask<string> GetAsync(CancellationToken cancellationToken)
    {
        if (Usable(_current) is { } ready) return ready;
        await _fetching.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Usable(_current) is { } fetched) return fetched;
            var token = await FetchAsync(cancellationToken).ConfigureAwait(false);
            _current = token;
            return token.Value;
        }
        finally
        {
            _fetching.Release();
        }
    }

    /// <summary>Drops the token the API refused, unless another request already replaced it.</summary>
    public void Invalidate(string refused)
    {
        var current = _current;
        if (current is not null && current.Value == refused) Interlocked.CompareExchange(ref _current, null, current);
    }

    private string? Usable(Token? token) =>
        token is not null && (token.ExpiresAt is not { } at || time.GetUtcNow() < at - EarlyRenewal) ? token.Value : null;

    private async Task<Token> FetchAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, options.TokenUrl);
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials") };
        if (options.Scope is { } scope) form.Add(new("scope", scope));
        request.Content = new FormUrlEncodedContent(form);
        // RFC 6749 2.3.1: client credentials in HTTP Basic, each form-urlencoded first.
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(
            $"{Uri.EscapeDataString(options.ClientId)}:{Uri.EscapeDataString(options.ClientSecret.Reveal())}")));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        var requestedAt = time.GetUtcNow();
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new OAuth2TokenException($"token request to {options.TokenUrl.GetLeftPart(UriPartial.Path)} failed: network error: {ErrorChain.Of(e)}", transient: true, null);
        }
        using (response)
        {
            var status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                var detail = await HttpConnector.ReadDetailAsync(response, cancellationToken).ConfigureAwait(false);
                throw new OAuth2TokenException($"token request to {options.TokenUrl.GetLeftPart(UriPartial.Path)} answered HTTP {status} {response.ReasonPhrase}{detail}",
                    transient: status is 408 or 425 or 429 or >= 500, status);
            }
            try
            {
                using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("access_token", out var access) || access.ValueKind != JsonValueKind.String || access.GetString() is not { Length: > 0 } value)
                    throw new OAuth2TokenException("the token endpoint's answer has no access_token", transient: false, status);
                DateTimeOffset? expiresAt = root.TryGetProperty("expires_in", out var expires) && expires.ValueKind == JsonValueKind.Number && expires.TryGetDouble(out var seconds) && seconds > 0
                    ? requestedAt + TimeSpan.FromSeconds(seconds) : null;
                return new Token(value, expiresAt);
            }
            catch (JsonException)
            {
                throw new OAuth2TokenException("the token endpoint's answer is not JSON", transient: false, status);
            }
        }
    }

    public void Dispose() => _fetching.Dispose();

    private sealed record Token(string Value, DateTimeOffset? ExpiresAt);
}
