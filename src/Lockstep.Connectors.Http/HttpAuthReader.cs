using System.Text;
using Lockstep.Configuration;

namespace Lockstep.Connectors.Http;

/// <summary>
/// Reads a system's <c>auth:</c> section (<c>bearer</c>, <c>basic</c> or <c>apiKey</c>) into a header whose value is a
/// <see cref="Secret"/>, or <c>oauth2</c> into client-credentials settings, registering every credential (and its Basic encoding) with the redactor. Shared by the http-based
/// connector families, each allowing the kinds it supports.
/// </summary>
internal static class HttpAuthReader
{
    public static HttpAuth? Read(ConfigSection? auth, IReadOnlyList<string> kinds)
    {
        if (auth is null) return null;
        auth.CheckKeys(kinds);
        if (auth.Keys.Count(kinds.Contains) != 1)
        {
            auth.Error($"must have exactly one of {string.Join(", ", kinds.SkipLast(1))} or {kinds[^1]}");
            return null;
        }
        if (auth.Has("bearer"))
            return auth.SecretValue("bearer", required: true) is { } token ? new HttpAuth("Authorization", new Secret("Bearer " + token.Reveal())) : null;
        if (auth.Section("basic", required: auth.Has("basic")) is { } basic)
        {
            basic.CheckKeys(["user", "password"]);
            var user = basic.String("user", required: true);
            var password = basic.SecretValue("password", required: true);
            if (user is null || password is null) return null;
            var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password.Reveal()}"));
            auth.Context.Secrets.Add(encoded, always: true);
            return new HttpAuth("Authorization", new Secret("Basic " + encoded));
        }
        if (auth.Section("apiKey", required: auth.Has("apiKey")) is { } apiKey)
        {
            apiKey.CheckKeys(["header", "value"]);
            var header = apiKey.String("header", required: true);
            var value = apiKey.SecretValue("value", required: true);
            return header is null || value is null ? null : new HttpAuth(header, value);
        }
        return null;
    }

    /// <summary><c>auth: { oauth2: { tokenUrl, clientId, clientSecret, scope? } }</c>, or null when the auth is of another kind.</summary>
    public static OAuth2Options? ReadOAuth2(ConfigSection? auth)
    {
        if (auth?.Section("oauth2", required: auth.Has("oauth2")) is not { } oauth2) return null;
        oauth2.CheckKeys(["tokenUrl", "clientId", "clientSecret", "scope"]);
        var tokenUrl = oauth2.HttpUrl("tokenUrl", required: true);
        var clientId = oauth2.String("clientId", required: true);
        var clientSecret = oauth2.SecretValue("clientSecret", required: true);
        var scope = oauth2.String("scope");
        if (tokenUrl is null || clientId is null || clientSecret is null) return null;
        auth.Context.Secrets.Add(Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(clientSecret.Reveal())}")), always: true);
        return new OAuth2Options(tokenUrl, clientId, clientSecret, scope);
    }
}
