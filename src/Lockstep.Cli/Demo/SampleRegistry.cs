using System.Collections.Concurrent;
using System.Globalization;
using Lockstep.Host;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Lockstep.Cli.Demo;

/// <summary>
/// A small registry API on 127.0.0.1 that behaves like a real partner: <c>PUT/DELETE /api/records/{key}</c>, idempotent by
/// <c>Idempotency-Key</c>, versioned by <c>X-Record-Version</c>, failing a share of requests with 503 (or 429 + Retry-After)
/// and, during an outage, all of them. It keeps score: what it holds, repeats, version regressions.
/// </summary>
internal sealed class SampleRegistry : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Random _random;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string Method, string Body)> _applied = new(StringComparer.Ordinal);

    private SampleRegistry(WebApplication app, int seed)
    {
        _app = app;
        _random = new Random(seed);
    }

    public string Url { get; private set; } = "";

    /// <summary>Share of requests answered 503 (a few of them 429 with Retry-After: 1).</summary>
    public double FailureRate { get; set; }

    /// <summary>While true every request fails with 503.</summary>
    public bool Outage { get; set; }

    /// <summary>When set and it returns a status for a key, that status is answered instead (after the failure roll).</summary>
    public Func<string, int?>? Override { get; set; }

    /// <summary>How long each request takes to answer (a slow partner).</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>The Retry-After (seconds) sent with an injected 429.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Raised after every request is answered.</summary>
    public event Action? Changed;

    public ConcurrentDictionary<string, (long Version, string Body)> Records { get; } = new(StringComparer.Ordinal);

    public ConcurrentQueue<RegistryRequest> Requests { get; } = new();

    public int InjectedFailures => _injected;

    /// <summary>Requests whose idempotency key had already been applied (answered 200, not applied again).</summary>
    public int Repeats => _repeats;

    /// <summary>Repeats whose method or body differ from the request that applied their idempotency key.</summary>
    public int MismatchedRepeats => _mismatchedRepeats;

    /// <summary>Applies that would have moved a record to an older version (refused, counted).</summary>
    public int Regressions => _regressions;

    private int _injected;
    private int _repeats;
    private int _regressions;
    private int _mismatchedRepeats;

    public static async Task<SampleRegistry> StartAsync(double failureRate, int seed = 7, string url = "http://127.0.0.1:0")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var registry = new SampleRegistry(app, seed) { FailureRate = failureRate };
        app.MapPut("/api/records/{key}", (string key, HttpContext context) => registry.HandleAsync(key, context, delete: false));
        app.MapDelete("/api/records/{key}", (string key, HttpContext context) => registry.HandleAsync(key, context, delete: true));
        await app.StartAsync();
        registry.Url = app.ListeningUrl();
        return registry;
    }

    private async Task<IResult> HandleAsync(string key, HttpContext context, bool delete)
    {
        var body = delete ? "" : await new StreamReader(context.Request.Body).ReadToEndAsync();
        var idempotencyKey = context.Request.Headers["Idempotency-Key"].ToString();
        var versionHeader = context.Request.Headers["X-Record-Version"].ToString();
        var version = long.TryParse(versionHeader, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;
        var authorization = context.Request.Headers.Authorization.ToString();
        if (Latency > TimeSpan.Zero) await Task.Delay(Latency, TimeProvider.System);

        int status;
        var repeat = false;
        lock (_gate)
        {
            var roll = _random.NextDouble();
            if (Outage || roll < FailureRate)
            {
                _injected++;
                status = !Outage && roll < FailureRate * 0.1 ? 429 : 503;
            }
            else if (Override?.Invoke(key) is { } forced)
            {
                status = forced;
            }
            else if (_applied.TryGetValue(idempotencyKey, out var first))
            {
                _repeats++;
                repeat = true;
                if (first != (context.Request.Method, body)) _mismatchedRepeats++;
                status = 200;
            }
            else
            {
                var current = Records.TryGetValue(key, out var held) ? held.Version : 0;
                if (version < current)
                {
                    _regressions++;
                    status = 409;
                }
                else
                {
                    _applied[idempotencyKey] = (context.Request.Method, body);
                    if (delete) Records.TryRemove(key, out _);
                    else Records[key] = (version, body);
                    status = delete ? 204 : 200;
                }
            }
        }
        Requests.Enqueue(new RegistryRequest(context.Request.Method, key, idempotencyKey, version, status, authorization, body) { Repeat = repeat });
        if (status == 429) context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        Changed?.Invoke();
        return Results.StatusCode(status);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One request as the registry saw it.</summary>
internal sealed record RegistryRequest(string Method, string Key, string IdempotencyKey, long Version, int Status, string Authorization, string Body)
{
    /// <summary>Its idempotency key had already been applied: answered 200, not applied again.</summary>
    public bool Repeat { get; init; }
}
