using Lockstep.Configuration;

namespace Lockstep.Connectors.Http;

/// <summary>One http system's connection pool, base URL, headers and credentials; shared by its connector and its sources.</summary>
internal sealed class HttpSystemClient : IDisposable
{
    private readonly HttpSystemOptions _options;

    public HttpSystemClient(SystemDefinition system, HttpSystemOptions options)
    {
        _options = options;
        Client = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = system.Concurrency,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Min(system.Timeout.TotalSeconds, 15)),
            UseCookies = false,
        })
        {
            // The attempt timeout is the engine's (Polly, on its TimeProvider).
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public HttpClient Client { get; }

    /// <summary>The absolute URL for a path written relative to the system's base URL (its path prefix kept).</summary>
    public Uri Resolve(string pathAndQuery)
    {
        if (Uri.TryCreate(pathAndQuery, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https") return absolute;
        return new Uri(_options.BaseUrl, _options.BaseUrl.AbsolutePath.TrimEnd('/') + (pathAndQuery.StartsWith('/') ? "" : "/") + pathAndQuery);
    }

    /// <summary>Adds the system's headers and credentials (credentials last, so a header can never replace them).</summary>
    public void Prepare(HttpRequestMessage request)
    {
        foreach (var (name, value) in _options.Headers) request.Headers.TryAddWithoutValidation(name, value);
        if (_options.Auth is { } auth)
        {
            request.Headers.Remove(auth.Header);
            request.Headers.TryAddWithoutValidation(auth.Header, auth.Value.Reveal());
        }
    }

    public void Dispose() => Client.Dispose();
}
