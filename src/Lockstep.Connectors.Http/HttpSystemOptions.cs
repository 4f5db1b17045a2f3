using System.Security.Cryptography.X509Certificates;
using Lockstep.Configuration;

namespace Lockstep.Connectors.Http;

/// <summary>A <c>type: http</c> system: base URL, credentials and headers sent with every request, and its TLS settings.</summary>
internal sealed record HttpSystemOptions(Uri BaseUrl, HttpAuth? Auth, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>OAuth2 client credentials, when <c>auth: { oauth2: ... }</c>: a bearer token fetched and cached by the client.</summary>
    public OAuth2Options? OAuth2 { get; init; }

    public HttpTlsOptions? Tls { get; init; }
}

/// <summary>One of <c>bearer</c>, <c>basic</c> or <c>apiKey</c>; the values are <see cref="Secret"/>s.</summary>
internal sealed record HttpAuth(string Header, Secret Value);

/// <summary>The client-credentials grant: where to ask for a token, as whom, and for which scope.</summary>
internal sealed record OAuth2Options(Uri TokenUrl, string ClientId, Secret ClientSecret, string? Scope);

/// <summary>
/// <c>tls:</c>: a client certificate presented to the server (mTLS) and/or the CA that must have issued the server's
/// certificate (instead of the machine's trusted roots).
/// </summary>
internal sealed record HttpTlsOptions(X509Certificate2? ClientCertificate, X509Certificate2Collection? Ca);
