using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lockstep.Encryption;
using Lockstep.Sources;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Tests.EndToEnd;

/// <summary>
/// The operations issue's acceptance example, as written (ports aside), run as the real program: roles on the API,
/// field encryption before data leaves, sensitive fields never in plaintext in the journal or the logs, aggregated signed
/// notices for an outage, metrics for viewers, and replay by an operator bringing the state to synced.
/// </summary>
public sealed class OperationsAcceptanceTests
{
    public const string Example = """
        storage: sqlite:data/lockstep.db
        security:
          apiKeys:
            - { name: clerk-app, role: publisher, key: "${PUBLISHER_KEY}" }
            - { name: ops,       role: operator,  key: "${OPERATOR_KEY}" }
            - { name: wallboard, role: viewer,    key: "${VIEWER_KEY}" }
        entities:
          supply: { sensitive: [recipient.phone] }
        systems:
          logistics: { type: http, url: http://127.0.0.1:7003 }
        notify:
          ops-hook: { type: webhook, url: http://127.0.0.1:7004/notify, secret: "${NOTIFY_SECRET}", on: [dead, circuit], window: 10s }
        flows:
          aid-to-logistics:
            entity: supply
            to: logistics
            map: (s) => ({ id: s.id, item: s.item, qty: s.qty, recipient: s.recipient })
            encrypt: { fields: [recipient.phone], key: "${FIELD_KEY}", keyId: k1 }
            upsert: PUT /shipments/{key}
            retry: { maxAttempts: 3, initialDelay: 100ms, maxDelay: 1s }
        """;

    private const int Shipments = 40;

    [Fact]
    public async Task Roles_encryption_notices_metrics_and_replay_work_as_the_example_says()
    {
        using var folder = new TempFolder();
        var keys = new Dictionary<string, string>
        {
            ["PUBLISHER_KEY"] = "pub-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)),
            ["OPERATOR_KEY"] = "ops-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)),
            ["VIEWER_KEY"] = "view-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)),
            ["NOTIFY_SECRET"] = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)),
            ["FIELD_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        };
        var failing = true;
        var shipments = new ConcurrentDictionary<string, string>();
        var logisticsRequests = 0;
        await using var logistics = await PartnerServer.StartAsync(app => app.MapPut("/shipments/{key}", async (string key, HttpContext context) =>
        {
            Interlocked.Increment(ref logisticsRequests);
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            if (Volatile.Read(ref failing)) return Results.StatusCode(422); // rejected: a permanent failure, dead at once
            shipments[key] = body;
            return Results.NoContent();
        }));
        var notices = new ConcurrentQueue<(string Body, bool Verified)>();
        await using var hook = await PartnerServer.StartAsync(app => app.MapPost("/notify", async (HttpContext context) =>
        {
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            var verified = WebhookCheck.Verify(new WebhookVerification([new Lockstep.Configuration.Secret(keys["NOTIFY_SECRET"])], null, [], TimeSpan.FromMinutes(5)),
                name => context.Request.Headers[name].ToString(), Encoding.UTF8.GetBytes(body), DateTimeOffset.UtcNow) is null;
            notices.Enqueue((body, verified));
            return Results.NoContent();
        }));
        var configPath = Path.Combine(folder.Path, "lockstep.yaml");
        await File.WriteAllTextAsync(configPath, Example
            .Replace("http://127.0.0.1:7003", logistics.Url, StringComparison.Ordinal)
            .Replace("http://127.0.0.1:7004", hook.Url, StringComparison.Ordinal));
        await using var lockstep = new LockstepProcess(configPath, keys);
        await lockstep.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var phones = Enumerable.Range(1, Shipments).Select(i => $"555-77{i:D2}-{i * 7919 % 10000:D4}").ToList();
        var batch = JsonSerializer.Serialize(phones.Select((phone, i) => new
        {
            id = $"sup-{i + 1}",
            type = "supplyMoved",
            entity = "supply",
            key = $"S-{i + 1}",
            data = new { id = $"S-{i + 1}", item = "water", qty = i + 10, recipient = new { name = $"Camp {i}", phone } },
        }));

        // Roles on POST /api/events: no key 401, a viewer 403, the publisher 202 (both header styles accepted).
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Post, $"{lockstep.Url}/api/events", batch, null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(http, HttpMethod.Post, $"{lockstep.Url}/api/events", batch, keys["VIEWER_KEY"])).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(http, HttpMethod.Post, $"{lockstep.Url}/api/events", batch, keys["VIEWER_KEY"], bearer: false)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await SendAsync(http, HttpMethod.Post, $"{lockstep.Url}/api/events", batch, keys["PUBLISHER_KEY"])).StatusCode);

        // Logistics rejects everything: every shipment dead-letters after 3 attempts, and a few aggregated notices arrive.
        await Eventually.WaitAsync(async () => (await StatusAsync(http, lockstep.Url, keys["VIEWER_KEY"])).GetProperty("systems").GetProperty("logistics").GetProperty("dead").GetInt32() == Shipments,
            "every shipment dead", TimeSpan.FromMinutes(2));
        await Eventually.WaitAsync(() => notices.Any(n => n.Body.Contains("dead letters", StringComparison.Ordinal)), "a dead-letter notice", TimeSpan.FromMinutes(1));
        Assert.InRange(notices.Count, 1, 6);
        Assert.All(notices, n => Assert.True(n.Verified, "notice signature"));

        // Metrics for a viewer; replay needs the operator.
        var metricsResponse = await SendAsync(http, HttpMethod.Get, $"{lockstep.Url}/metrics", null, keys["VIEWER_KEY"]);
        var metrics = await metricsResponse.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, metricsResponse.StatusCode);
        Assert.Contains("lockstep_deliveries_total{", metrics, StringComparison.Ordinal);
        Assert.Contains("outcome=\"dead\"", metrics, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, HttpMethod.Get, $"{lockstep.Url}/metrics", null, null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(http, HttpMethod.Post, $"{lockstep.Url}/api/dead/replay", null, keys["VIEWER_KEY"])).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(http, HttpMethod.Post, $"{lockstep.Url}/api/dead/replay", null, keys["PUBLISHER_KEY"])).StatusCode);
        Volatile.Write(ref failing, false);
        var replay = await SendAsync(http, HttpMethod.Post, $"{lockstep.Url}/api/dead/replay", null, keys["OPERATOR_KEY"]);
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        await Eventually.WaitAsync(async () => (await StatusAsync(http, lockstep.Url, keys["VIEWER_KEY"])).GetProperty("state").GetString() == "synced", "synced", TimeSpan.FromMinutes(2));

        // Logistics holds every shipment, the phone only as an envelope that opens with FIELD_KEY.
        Assert.Equal(Shipments, shipments.Count);
        var fieldKey = new Dictionary<string, byte[]> { ["k1"] = Convert.FromBase64String(keys["FIELD_KEY"]) };
        for (var i = 0; i < Shipments; i++)
        {
            var held = shipments[$"S-{i + 1}"];
            Assert.DoesNotContain(phones[i], held, StringComparison.Ordinal);
            var envelope = JsonNode.Parse(held)!["recipient"]!["phone"]!.AsObject();
            Assert.Equal("k1", envelope["kid"]!.GetValue<string>());
            var opened = JsonNode.Parse(FieldEnvelope.Open(held, fieldKey))!;
            Assert.Equal(phones[i], opened["recipient"]!["phone"]!.GetValue<string>());
            Assert.Equal($"Camp {i}", opened["recipient"]!["name"]!.GetValue<string>());
        }

        // Neither the journal files nor the logs hold a phone number or any secret in plaintext.
        await lockstep.TerminateAsync();
        var journalFiles = Directory.GetFiles(Path.Combine(folder.Path, "data"), "lockstep.db*");
        Assert.Contains(journalFiles, f => f.EndsWith("lockstep.db", StringComparison.Ordinal));
        var everything = new List<(string Where, byte[] Bytes)> { ("output", Encoding.UTF8.GetBytes(lockstep.Output)) };
        everything.AddRange(journalFiles.Where(f => !f.EndsWith(".key", StringComparison.Ordinal)).Select(f => (f, File.ReadAllBytes(f))));
        everything.AddRange(notices.Select(n => ("notice", Encoding.UTF8.GetBytes(n.Body))));
        foreach (var (where, bytes) in everything)
        {
            foreach (var needle in phones.Concat(keys.Values))
                Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) < 0, $"{where} holds a sensitive value in plaintext");
        }
        Assert.True(logisticsRequests >= Shipments * 2);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string url, string? body, string? key, bool bearer = true)
    {
        using var request = new HttpRequestMessage(method, url);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (key is not null && bearer) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        else if (key is not null) request.Headers.Add("X-Api-Key", key);
        return await http.SendAsync(request);
    }

    private static async Task<JsonElement> StatusAsync(HttpClient http, string url, string viewerKey)
    {
        using var response = await SendAsync(http, HttpMethod.Get, $"{url}/api/status", null, viewerKey);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
