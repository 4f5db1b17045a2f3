using System.Globalization;
using System.Text.Json.Nodes;
using Lockstep.Gauntlet.Reporting;
using Lockstep.Gauntlet.Schedules;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lockstep.Gauntlet.Targets;

/// <summary>
/// A real Kestrel target on 127.0.0.1, port 0, that keeps a log of every request. It applies requests in the order they
/// arrive (the order Lockstep sent them), so a version sent after a newer one shows in both its state and its log.
/// </summary>
internal sealed class TargetServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Held> _records = [];
    private readonly List<TargetRequest> _log = [];
    private readonly Random _faultRandom;
    private readonly TimeSpan _slow;
    private long _sequence;
    private (TargetFault Fault, double Rate, int Generation)? _fault;
    private int _generation;

    private TargetServer(WebApplication app, int index, bool rejectPoison, TimeSpan slow, int seed)
    {
        _app = app;
        Index = index;
        RejectPoison = rejectPoison;
        _slow = slow;
        _faultRandom = new Random(seed);
    }

    public int Index { get; }

    public bool RejectPoison { get; }

    public string Url { get; private set; } = "";

    public FaultCounts Injected { get; } = new();

    public static async Task<TargetServer> StartAsync(int index, bool rejectPoison, TimeSpan slow, int seed)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var target = new TargetServer(app, index, rejectPoison, slow, seed);
        app.MapPut("/records/{key}", (string key, HttpContext context) => target.UpsertAsync(key, context));
        app.MapDelete("/records/{key}", (string key, HttpContext context) => target.DeleteAsync(key, context));
        app.MapPost("/batch", (Delegate)((HttpContext context) => target.BatchAsync(context)));
        await app.StartAsync();
        target.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return target;
    }

    /// <summary>Until <see cref="ClearFault"/>: a share of requests gets the fault. Returns a generation for clearing.</summary>
    public int SetFault(TargetFault fault, double rate)
    {
        lock (_gate)
        {
            _fault = (fault, rate, ++_generation);
            return _generation;
        }
    }

    public void ClearFault(int? generation = null)
    {
        lock (_gate)
        {
            if (generation is null || _fault?.Generation == generation) _fault = null;
        }
    }

    public IReadOnlyList<TargetRequest> Log()
    {
        lock (_gate) return [.. _log];
    }

    /// <summary>What the target holds now, by key (deleted records absent).</summary>
    public IReadOnlyDictionary<string, (long Version, JsonNode Body)> Records()
    {
        lock (_gate)
        {
            return _records.Where(r => r.Value.Body is not null)
                .ToDictionary(r => r.Key, r => (r.Value.Version, JsonNode.Parse(r.Value.Body!)!));
        }
    }

    private async Task<IResult> UpsertAsync(string key, HttpContext context)
    {
        var seq = Interlocked.Increment(ref _sequence);
        var body = await ReadBodyAsync(context);
        if (body is null) return Results.StatusCode(400);
        var version = HeaderVersion(context);
        var idempotencyKey = context.Request.Headers["Idempotency-Key"].ToString();
        var canonical = Canonical(body);
        var fault = Fault();
        if (fault is { } refused && refused != TargetFault.Slow)
            return Refuse(refused, seq, [(key, version, idempotencyKey, canonical, false)]);
        if (RejectPoison && canonical is not null && JsonNode.Parse(canonical)?["reject"]?.GetValue<bool>() == true)
        {
            Record(seq, key, version, idempotencyKey, canonical, delete: false, TargetOutcome.Rejected);
            return Results.StatusCode(422);
        }
        Apply(seq, key, version, idempotencyKey, canonical, delete: false);
        if (fault == TargetFault.Slow) await SlowAsync(context);
        return Results.NoContent();
    }

    private async Task<IResult> DeleteAsync(string key, HttpContext context)
    {
        var seq = Interlocked.Increment(ref _sequence);
        var version = HeaderVersion(context);
        var idempotencyKey = context.Request.Headers["Idempotency-Key"].ToString();
        var fault = Fault();
        if (fault is { } refused && refused != TargetFault.Slow)
            return Refuse(refused, seq, [(key, version, idempotencyKey, null, true)]);
        Apply(seq, key, version, idempotencyKey, null, delete: true);
        if (fault == TargetFault.Slow) await SlowAsync(context);
        return Results.NoContent();
    }

    private async Task<IResult> BatchAsync(HttpContext context)
    {
        var seq = Interlocked.Increment(ref _sequence);
        var body = await ReadBodyAsync(context);
        if (body is null || JsonNode.Parse(body) is not JsonArray items) return Results.StatusCode(400);
        var keys = context.Request.Headers["Idempotency-Keys"].ToString().Split(',').Select(Uri.UnescapeDataString).ToArray();
        var parsed = new List<(string Key, long Version, string IdempotencyKey, string? Body, bool Delete)>();
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i]!.AsObject();
            var key = item["_key"]?.GetValue<string>() ?? "?";
            var version = item["_version"]?.GetValue<long>() ?? -1;
            parsed.Add((key, version, i < keys.Length ? keys[i] : "", item.ToJsonString(), false));
        }
        var fault = Fault();
        if (fault is { } refused && refused != TargetFault.Slow) return Refuse(refused, seq, parsed);
        foreach (var p in parsed) Apply(seq, p.Key, p.Version, p.IdempotencyKey, p.Body, delete: false);
        if (fault == TargetFault.Slow) await SlowAsync(context);
        return Results.NoContent();
    }

    private IResult Refuse(TargetFault fault, long seq, IReadOnlyList<(string Key, long Version, string IdempotencyKey, string? Body, bool Delete)> items)
    {
        int status;
        lock (_gate) status = fault == TargetFault.TooManyRequests ? 429 : _faultRandom.Next(3) switch { 0 => 500, 1 => 502, _ => 503 };
        foreach (var item in items) Record(seq, item.Key, item.Version, item.IdempotencyKey, item.Body, item.Delete, TargetOutcome.Refused);
        Injected.Add(fault == TargetFault.TooManyRequests ? "target-429" : "target-5xx");
        if (status == 429) return new RetryAfter();
        return Results.StatusCode(status);
    }

    private async Task SlowAsync(HttpContext context)
    {
        Injected.Add("target-slow");
        try
        {
            await Task.Delay(_slow, TimeProvider.System, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // Lockstep gave up first, as intended.
        }
    }

    private TargetFault? Fault()
    {
        lock (_gate) return _fault is { } f && _faultRandom.NextDouble() < f.Rate ? f.Fault : null;
    }

    private void Apply(long seq, string key, long version, string idempotencyKey, string? body, bool delete)
    {
        lock (_gate)
        {
            // In arrival order: a request that arrived earlier but finished later does not overwrite a later one.
            if (!_records.TryGetValue(key, out var held) || held.Sequence < seq) _records[key] = new Held(version, delete ? null : body, seq);
            _log.Add(new TargetRequest(seq, key, version, idempotencyKey, body, delete, TargetOutcome.Applied));
        }
    }

    private void Record(long seq, string key, long version, string idempotencyKey, string? body, bool delete, TargetOutcome outcome)
    {
        lock (_gate) _log.Add(new TargetRequest(seq, key, version, idempotencyKey, body, delete, outcome));
    }

    private static long HeaderVersion(HttpContext context) =>
        long.TryParse(context.Request.Headers["X-Record-Version"].ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : -1;

    private static string? Canonical(string body)
    {
        try
        {
            return JsonNode.Parse(body)?.ToJsonString();
        }
        catch (System.Text.Json.JsonException)
        {
            return body;
        }
    }

    /// <summary>The whole body, or null when the connection broke before it arrived (nothing is applied then).</summary>
    private static async Task<string?> ReadBodyAsync(HttpContext context)
    {
        try
        {
            using var reader = new StreamReader(context.Request.Body);
            return await reader.ReadToEndAsync(context.RequestAborted);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or BadHttpRequestException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed record Held(long Version, string? Body, long Sequence);

    private sealed class RetryAfter : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = 429;
            httpContext.Response.Headers.RetryAfter = "1";
            return Task.CompletedTask;
        }
    }
}

internal enum TargetOutcome
{
    Applied,
    /// <summary>A permanent error (422) for a poison version.</summary>
    Rejected,
    /// <summary>An injected 5xx or 429: not applied.</summary>
    Refused,
}

/// <summary>One request (or one item of a batch) as the target saw it; <see cref="Sequence"/> is its arrival order.</summary>
internal sealed record TargetRequest(long Sequence, string Key, long Version, string IdempotencyKey, string? Body, bool Delete, TargetOutcome Outcome)
{
    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"#{Sequence} {(Delete ? "DELETE" : "PUT")} v{Version} {Outcome} key={IdempotencyKey}{(Body is null ? "" : " body=" + Truncate(Body))}");

    private static string Truncate(string s) => s.Length <= 120 ? s : s[..120] + "…";
}
