using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lockstep.Host;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Lockstep.Tests.Support;

/// <summary>
/// A CRM that assigns its own ids, on real Kestrel (127.0.0.1, port 0): <c>POST /api/contacts</c> creates and answers
/// <c>{"id": ...}</c>; <c>GET /api/contacts?externalKey=K</c> finds (<c>{"items": [...]}</c>); <c>GET/PUT/DELETE
/// /api/contacts/{id}</c>. Faults on demand: 503 before anything is applied (<see cref="FailureRate"/>), and creates that
/// are applied and then time out (<see cref="TimeoutCreateRate"/>: 504 from its gateway, which gave up waiting) or are
/// cut off (<see cref="ResetNextCreates"/>: the connection is aborted after the contact was stored).
/// </summary>
internal sealed class CrmServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Random _random;
    private readonly Lock _gate = new();
    private readonly string? _token;
    private int _nextId = 100;

    private CrmServer(WebApplication app, Random random, string? token)
    {
        _app = app;
        _random = random;
        _token = token;
    }

    public string Url { get; private set; } = "";

    /// <summary>Contacts by id, each the stored JSON object (with its id).</summary>
    public ConcurrentDictionary<string, JsonObject> Contacts { get; } = new(StringComparer.Ordinal);

    /// <summary>Every request as "METHOD path" in order of arrival.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public double FailureRate { get; set; }

    public double TimeoutCreateRate { get; set; }

    /// <summary>How many of the next creates are applied and then cut off (connection aborted, no answer).</summary>
    public int ResetNextCreates;

    public int InjectedFailures;

    public int CutOffCreates;

    public int Creates;

    /// <summary>Pulses after every request.</summary>
    public Signal Changed { get; } = new();

    public static async Task<CrmServer> StartAsync(double failureRate = 0, double timeoutCreateRate = 0, int seed = 1, string? token = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var crm = new CrmServer(app, new Random(seed), token) { FailureRate = failureRate, TimeoutCreateRate = timeoutCreateRate };
        app.Use(async (context, next) =>
        {
            crm.Requests.Enqueue($"{context.Request.Method} {context.Request.Path}{context.Request.QueryString}");
            try
            {
                if (crm._token is not null && context.Request.Headers.Authorization != $"Bearer {crm._token}")
                {
                    context.Response.StatusCode = 401;
                    return;
                }
                if (crm.Roll(crm.FailureRate))
                {
                    Interlocked.Increment(ref crm.InjectedFailures);
                    context.Response.StatusCode = 503;
                    return;
                }
                await next(context);
            }
            finally
            {
                crm.Changed.Pulse();
            }
        });
        app.MapGet("/api/contacts", (HttpRequest request) =>
        {
            var key = request.Query["externalKey"].ToString();
            var items = crm.Contacts.Values.Where(c => (string?)c["externalKey"] == key).Select(c => c.DeepClone()).ToArray();
            return Results.Json(new JsonObject { ["items"] = new JsonArray(items) });
        });
        app.MapGet("/api/contacts/{id}", (string id) => crm.Contacts.TryGetValue(id, out var c) ? Results.Json(c) : Results.NotFound());
        app.MapPost("/api/contacts", async (HttpContext context) =>
        {
            var contact = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
            string id;
            lock (crm._gate) id = $"c-{crm._nextId++}";
            contact["id"] = id;
            crm.Contacts[id] = contact;
            Interlocked.Increment(ref crm.Creates);
            bool reset;
            lock (crm._gate)
            {
                reset = crm.ResetNextCreates > 0;
                if (reset) crm.ResetNextCreates--;
            }
            if (reset)
            {
                Interlocked.Increment(ref crm.CutOffCreates);
                context.Abort();
                return Results.Empty;
            }
            if (crm.Roll(crm.TimeoutCreateRate))
            {
                // Applied, but the CRM's gateway stopped waiting for it: the client learns nothing of the new id.
                Interlocked.Increment(ref crm.CutOffCreates);
                return Results.StatusCode(504);
            }
            return Results.Json(new JsonObject { ["id"] = id }, statusCode: 201);
        });
        app.MapPut("/api/contacts/{id}", async (string id, HttpContext context) =>
        {
            if (!crm.Contacts.ContainsKey(id)) return Results.NotFound();
            var contact = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
            contact["id"] = id;
            crm.Contacts[id] = contact;
            return Results.Json(contact);
        });
        app.MapDelete("/api/contacts/{id}", (string id) => crm.Contacts.TryRemove(id, out _) ? Results.NoContent() : Results.NotFound());
        await app.StartAsync();
        crm.Url = app.ListeningUrl();
        return crm;
    }

    /// <summary>The contacts holding this external key.</summary>
    public IReadOnlyList<JsonObject> ByKey(string key) => [.. Contacts.Values.Where(c => (string?)c["externalKey"] == key)];

    private bool Roll(double rate)
    {
        if (rate <= 0) return false;
        lock (_gate) return _random.NextDouble() < rate;
    }

    public string Describe() => JsonSerializer.Serialize(Contacts.Values.Select(c => c.ToJsonString()).Order().Take(20));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
