using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Lockstep.Configuration;

namespace Lockstep.Connectors.Http;

/// <summary>
/// One http system's connection pool, base URL, headers and credentials (static, or OAuth2 tokens fetched on demand),
/// client certificate and trusted CA; shared by its connector and its sources.
/// </summary>
internal sealed class HttpSystemClient : IDisposable
{
    private readonly HttpSystemOptions _options;
    private readonly OAuth2Tokens? _tokens;

    public HttpSystemClient(SystemDefinition system, HttpSystemOptions options, TimeProvider? time = null)
    {
        _options = options;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = system.Concurrency,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Min(system.Timeout.TotalSeconds, 15)),
            UseCookies = false,
        };
        if (options.Tls is { } tls)
        {
            if (tls.ClientCertificate is { } certificate) handler.SslOptions.ClientCertificates = [certificate];
            if (tls.Ca is { } ca) handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, chain, errors) => IssuedBy(ca, cert, chain, errors);
        }
        Client = new HttpClient(handler)
        {
            // The attempt timeout is the engine's (Polly, on its TimeProvider).
            Timeout = Timeout.InfiniteTimeSpan,
        };
        if (options.OAuth2 is { } oauth2) _tokens = new OAuth2Tokens(oauth2, Client, time ?? TimeProvider.System);
    }

    public HttpClient Client { get; }

    /// <summary>The absolute URL for a path written relative to the system's base URL (its path prefix kept).</summary>
    public Uri Resolve(string pathAndQuery)
    {
        if (Uri.TryCreate(pathAndQuery, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https") return absolute;
        return new Uri(_options.BaseUrl, _options.BaseUrl.AbsolutePath.TrimEnd('/') + (pathAndQuery.StartsWith('/') ? "" : "/") + pathAndQuery);
    }

    /// <summary>Adds the system's headers and static credentials (credentials last, so a header can never replace them).</summary>
    public void Prepare(HttpRequestMessage request)
    {
        foreach (var (name, value) in _options.Headers) request.Headers.TryAddWithoutValidation(name, value);
        if (_options.Auth is { } auth)
        {
            request.Headers.Remove(auth.Header);
            request.Headers.TryAddWithoutValidation(auth.Header, auth.Value.Reveal());
        }
    }

    /// <summary>
    /// Sends the request <paramref name="build"/> makes, with headers and credentials. With OAuth2, a 401 drops the
    /// token and the request is built and sent once more with a fresh one. Throws <see cref="OAuth2TokenException"/>
    /// when no token could be had, <see cref="UnsendableRequestException"/> when a header cannot be sent, and
    /// <see cref="HttpRequestException"/> on network errors.
    /// </summary>
    public Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> build, HttpCompletionOption completion, CancellationToken cancellationToken) =>
        SendAsync(static build => build(), build, completion, cancellationToken);

    /// <summary>As <see cref="SendAsync(Func{HttpRequestMessage}, HttpCompletionOption, CancellationToken)"/>, with the builder's state passed in (no closure per request).</summary>
    public async Task<HttpResponseMessage> SendAsync<TState>(Func<TState, HttpRequestMessage> build, TState state, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = build(state);
            Prepare(request);
            string? token = null;
            if (_tokens is not null)
            {
                token = await _tokens.GetAsync(cancellationToken).ConfigureAwait(false);
                request.Headers.Remove("Authorization");
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
            }
            UnsendableRequestException.ThrowIfUnsendable(request);
            var response = await Client.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Unauthorized || token is null || attempt > 1) return response;
            response.Dispose();
            _tokens!.Invalidate(token);
        }
    }

    // Only certificates that chain to the configured CA are trusted; the host name must still match.
    private static bool IssuedBy(X509Certificate2Collection ca, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None) return false;
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(ca);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements) custom.ChainPolicy.ExtraStore.Add(element.Certificate);
        }
        return custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    public void Dispose()
    {
        _tokens?.Dispose();
        Client.Dispose();
    }
}
