using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lockstep.Bench;

/// <summary>
/// The HTTP target every delivery scenario writes to: Kestrel on 127.0.0.1, a random port, <c>PUT /api/records/{key}</c>.
/// It reads the whole body and answers 200 (or 503 while <see cref="Down"/>). For latency it stamps the first arrival of
/// each key numbered <c>PREFIX-n</c> with <see cref="Stopwatch.GetTimestamp"/>, the same clock the publisher stamps with.
/// While <see cref="Holding"/> it also keeps the last body per key and answers <c>GET /api/records/{key}</c> with it
/// (404 when it holds none), so reconciliation has a real copy to read and compare. For the connectors scenario it also
/// takes <c>POST /api/records/batch</c> (an http batch: counts the records named in <c>Idempotency-Keys</c>) and
/// <c>POST /hooks/{name}</c> (a webhook subscriber that verifies nothing and answers 200).
/// </summary>
internal sealed class BenchTarget : IAsyncDisposable
{
    private readonly WebApplication _app;
    private long _ok;
    private long _refused;
    private long _reads;
    private long _batches;
    private long[]? _arrivals;
    private string _arrivalPrefix = "";
    private readonly ConcurrentDictionary<string, byte[]> _held = new(StringComparer.Ordinal);

    private BenchTarget(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    /// <summary>While true every request is answered 503 (the target is "down" but reachable).</summary>
    public bool Down { get; set; }

    public long Ok => Interlocked.Read(ref _ok);

    /// <summary>Share of PUTs answered 503 (without Retry-After) at random: a degraded target, not a dead one.</summary>
    public double FailureRatio { get; set; }

    /// <summary>While true every accepted PUT's body is kept by key (off by default: the delivery scenarios only count).</summary>
    public bool Holding { get; set; }

    /// <summary>What the target holds, by key: the reconcile scenario corrupts it behind the engine's back.</summary>
    public ConcurrentDictionary<string, byte[]> Held => _held;

    /// <summary>GETs answered (found or not).</summary>
    public long Reads => Interlocked.Read(ref _reads);

    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Batch requests answered (each counts its records in <see cref="Ok"/>).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    public static async Task<BenchTarget> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var target = new BenchTarget(app);
        app.MapPut("/api/records/{key}", (string key, HttpContext context) => target.HandleAsync(key, context));
        app.MapGet("/api/records/{key}", (string key) => target.Read(key));
        app.MapPost("/api/records/batch", (HttpContext context) => target.HandleBatchAsync(context));
        app.MapPost("/hooks/{name}", (HttpContext context) => target.HandleHookAsync(context));
        await app.StartAsync();
        target.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return target;
    }

    /// <summary>Starts stamping arrivals of keys <c>{prefix}{n}</c>, 0 &lt;= n &lt; count; returns the array being filled.</summary>
    public long[] TrackArrivals(string prefix, int count)
    {
        var arrivals = new long[count];
        _arrivalPrefix = prefix;
        Volatile.Write(ref _arrivals, arrivals);
        return arrivals;
    }

    public void ResetCounters()
    {
        Interlocked.Exchange(ref _ok, 0);
        Interlocked.Exchange(ref _refused, 0);
        Interlocked.Exchange(ref _reads, 0);
        Interlocked.Exchange(ref _batches, 0);
        Volatile.Write(ref _arrivals, null);
        Holding = false;
        FailureRatio = 0;
        _held.Clear();
    }

    private async Task<IResult> HandleAsync(string key, HttpContext context)
    {
        var now = Stopwatch.GetTimestamp();
        if (Volatile.Read(ref _arrivals) is { } arrivals && key.StartsWith(_arrivalPrefix, StringComparison.Ordinal)
            && int.TryParse(key.AsSpan(_arrivalPrefix.Length), out var n) && n >= 0 && n < arrivals.Length)
        {
            Interlocked.CompareExchange(ref arrivals[n], now, 0);
        }
        byte[]? body = null;
        if (Holding)
        {
            using var copy = new MemoryStream(256);
            await context.Request.Body.CopyToAsync(copy);
            body = copy.ToArray();
        }
        else
        {
            var buffer = ArrayPool<byte>.Shared.Rent(4096);
            try
            {
                while (await context.Request.Body.ReadAsync(buffer) > 0)
                {
                    // Read and drop: a real target parses the body; this one only has to take it off the wire.
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        if (Down || (FailureRatio > 0 && Random.Shared.NextDouble() < FailureRatio))
        {
            Interlocked.Increment(ref _refused);
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
        if (body is not null) _held[key] = body;
        Interlocked.Increment(ref _ok);
        return Results.Ok();
    }

    private async Task HandleBatchAsync(HttpContext context)
    {
        await DrainAsync(context.Request.Body);
        var keys = context.Request.Headers["Idempotency-Keys"].ToString();
        var records = keys.Length == 0 ? 0 : keys.AsSpan().Count(',') + 1;
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _ok, records);
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    private async Task HandleHookAsync(HttpContext context)
    {
        await DrainAsync(context.Request.Body);
        Interlocked.Increment(ref _ok);
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    private static async Task DrainAsync(Stream body)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (await body.ReadAsync(buffer) > 0)
            {
                // Read and drop.
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private IResult Read(string key)
    {
        Interlocked.Increment(ref _reads);
        if (Down) return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        return _held.TryGetValue(key, out var body) ? Results.Bytes(body, "application/json") : Results.NotFound();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
