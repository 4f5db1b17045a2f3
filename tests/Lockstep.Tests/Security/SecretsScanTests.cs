using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Lockstep.Host;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lockstep.Tests.Security;

/// <summary>
/// Distinctive secret values in every place config takes them, failures driven through every path that reports
/// text, and every output scanned for them: API answers and error bodies, status, dead letters, history, audit,
/// metrics, notices (webhook and mail), logs with exception text, and the journal files on disk.
/// </summary>
public sealed class SecretsScanTests
{
    [Fact]
    public async Task No_secret_value_appears_in_any_output_or_in_the_journal()
    {
        var env = new Dictionary<string, string>
        {
            ["PUBLISHER_KEY"] = "SECRET-publisher-Xq81Lw",
            ["OPERATOR_KEY"] = "SECRET-operator-Pz42Kd",
            ["VIEWER_KEY"] = "SECRET-viewer-Mn73Jc",
            ["REGISTRY_TOKEN"] = "SECRET-bearer-Tk55Rb",
            ["PARTNER_HEADER"] = "SECRET-header-Hd66Qa",
            ["BASIC_PASSWORD"] = "SECRET-basic-Bp77Ps",
            ["OFFLINE_KEY"] = "SECRET-apikey-Ak88Ow",
            ["SMTP_PASSWORD"] = "SECRET-smtp-Sm99Nv",
            ["NOTIFY_SECRET"] = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)),
            ["HOOK_SECRET"] = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)),
            ["FIELD_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        };
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("lockstep:" + env["BASIC_PASSWORD"]));
        string[] secrets = [.. env.Values, basic];
        using var folder = new TempFolder();
        var received = new ConcurrentQueue<string>();
        var notices = new ConcurrentQueue<string>();
        // Partners that echo what they were sent into their error bodies: the worst case for redaction.
        await using var partner = await PartnerServer.StartAsync(app =>
        {
            app.MapPut("/shipments/{key}", (HttpRequest request) =>
            {
                var echo = $"rejected; you sent Authorization={request.Headers.Authorization} X-Partner-Key={request.Headers["X-Partner-Key"]}";
                received.Enqueue(echo);
                return Results.BadRequest(echo);
            });
            app.MapPut("/parcels/{key}", (HttpRequest request) =>
            {
                var echo = $"overloaded; Authorization={request.Headers.Authorization}";
                received.Enqueue(echo);
                return Results.Text(echo, statusCode: 503);
            });
            app.MapPost("/notify", async (HttpRequest request) =>
            {
                notices.Enqueue(string.Join('\n', request.Headers.Select(h => $"{h.Key}: {h.Value}")) + "\n" + await new StreamReader(request.Body).ReadToEndAsync());
                return Results.NoContent();
            });
        });
        await using var smtp = SmtpServer.Start();
        int closedPort;
        await using (var closed = SmtpServer.Start()) closedPort = closed.Port;
        var yaml = $$"""
            storage: sqlite:lockstep.db
            security:
              apiKeys:
                - { name: app, role: publisher, key: "${PUBLISHER_KEY}" }
                - { name: ops, role: operator, key: "${OPERATOR_KEY}" }
                - { name: board, role: viewer, key: "${VIEWER_KEY}" }
            systems:
              logistics: { type: http, url: "{{partner.Url}}", auth: { bearer: "${REGISTRY_TOKEN}" }, headers: { X-Partner-Key: "${PARTNER_HEADER}" } }
              parcels: { type: http, url: "{{partner.Url}}", auth: { basic: { user: lockstep, password: "${BASIC_PASSWORD}" } }, circuit: { minimumThroughput: 1000 } }
              offline: { type: http, url: "http://127.0.0.1:{{closedPort}}", auth: { apiKey: { header: X-Key, value: "${OFFLINE_KEY}" } } }
            sources:
              partner-hooks:
                type: webhook
                verify: { standardWebhooks: "${HOOK_SECRET}" }
                map: (body) => ({ entity: "supply", key: body.id, version: body.rev, data: body })
            notify:
              ops-hook: { type: webhook, url: "{{partner.Url}}/notify", secret: "${NOTIFY_SECRET}", on: [dead, circuit], window: 1s }
              ops-mail:
                type: email
                smtp: { host: 127.0.0.1, port: {{smtp.Port}}, user: lockstep, password: "${SMTP_PASSWORD}", tls: none }
                from: lockstep@example.org
                to: [ops@example.org]
                on: [dead, circuit]
                window: 1s
            flows:
              to-logistics:
                entity: supply
                to: logistics
                upsert: PUT /shipments/{key}
                encrypt: { fields: [recipient.phone], key: "${FIELD_KEY}", keyId: k1 }
                retry: { maxAttempts: 2, initialDelay: 100ms, maxDelay: 200ms }
              to-parcels:
                entity: supply
                to: parcels
                upsert: PUT /parcels/{key}
                retry: { maxAttempts: 2, initialDelay: 100ms, maxDelay: 200ms }
              to-offline:
                entity: supply
                to: offline
                upsert: PUT /things/{key}
                retry: { maxAttempts: 2, initialDelay: 100ms, maxDelay: 200ms }
            """;
        var logs = new CapturingLoggerProvider();
        var config = TestEngine.Load(yaml, folder.Path, env);
        await using var app = LockstepHost.Build(config, "http://127.0.0.1:0", services => services.AddSingleton<ILoggerProvider>(logs), LogLevel.Debug);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.ListeningUrl()), Timeout = Eventually.Limit };
        var outputs = new List<string>();

        for (var i = 1; i <= 5; i++)
        {
            var body = $$$$"""{"type":"supplyMoved","entity":"supply","key":"S-{{{{i}}}}","version":1,"data":{"id":"S-{{{{i}}}}","recipient":{"phone":"+1-555-0100"}}}""";
            outputs.Add(await SendAsync(http, HttpMethod.Post, "/api/events", env["PUBLISHER_KEY"], body, HttpStatusCode.Accepted));
        }
        var last = "";
        try
        {
            await Eventually.WaitAsync(async () =>
            {
                last = await SendAsync(http, HttpMethod.Get, "/api/status", env["VIEWER_KEY"]);
                using var status = System.Text.Json.JsonDocument.Parse(last);
                return status.RootElement.GetProperty("systems").EnumerateObject().All(s => s.Value.GetProperty("dead").GetInt64() == 5);
            }, "5 dead letters on each of the 3 systems");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; last status: {last}", e);
        }
        await Eventually.WaitAsync(() => !notices.IsEmpty && !smtp.Messages.IsEmpty, "a webhook notice and a mail");
        outputs.Add(await SendAsync(http, HttpMethod.Get, "/api/status", env["VIEWER_KEY"]));
        outputs.Add(await SendAsync(http, HttpMethod.Get, "/api/status/logistics", env["VIEWER_KEY"]));
        outputs.Add(await SendAsync(http, HttpMethod.Get, "/api/dead", env["VIEWER_KEY"]));
        outputs.Add(await SendAsync(http, HttpMethod.Get, "/api/records/supply/S-1/history", env["VIEWER_KEY"]));
        outputs.Add(await SendAsync(http, HttpMethod.Get, "/metrics", env["VIEWER_KEY"]));
        outputs.Add(await SendAsync(http, HttpMethod.Post, "/api/dead/replay", env["OPERATOR_KEY"], "{}"));
        outputs.Add(await SendAsync(http, HttpMethod.Get, "/api/audit", env["VIEWER_KEY"]));
        // Error bodies: a secret presented as a key, a key in the wrong role, malformed bodies, a forged webhook signature.
        outputs.Add(await SendAsync(http, HttpMethod.Get, "/api/status", env["REGISTRY_TOKEN"], expect: HttpStatusCode.Unauthorized));
        outputs.Add(await SendAsync(http, HttpMethod.Post, "/api/events", env["VIEWER_KEY"], "{}", HttpStatusCode.Forbidden));
        outputs.Add(await SendAsync(http, HttpMethod.Post, "/api/events", env["PUBLISHER_KEY"], "{\"type\": \"" + env["SMTP_PASSWORD"][..3], HttpStatusCode.BadRequest));
        outputs.Add(await SendAsync(http, HttpMethod.Post, "/api/dead/replay", env["OPERATOR_KEY"], "{\"ids\": [\"x\"]}", HttpStatusCode.BadRequest));
        using (var forged = new HttpRequestMessage(HttpMethod.Post, "/webhooks/partner-hooks") { Content = new StringContent("""{"id":"S-9","rev":1}""", Encoding.UTF8, "application/json") })
        {
            forged.Headers.TryAddWithoutValidation("webhook-id", "msg_1");
            forged.Headers.TryAddWithoutValidation("webhook-timestamp", "1");
            forged.Headers.TryAddWithoutValidation("webhook-signature", "v1," + env["HOOK_SECRET"]);
            using var response = await http.SendAsync(forged);
            outputs.Add(await response.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        await app.StopAsync();
        outputs.AddRange(notices);
        outputs.AddRange(smtp.Messages.Select(m => m.Data));
        outputs.AddRange(logs.Lines);
        var journal = Directory.GetFiles(folder.Path).Select(f => (Name: Path.GetFileName(f), Bytes: File.ReadAllBytes(f))).ToList();

        Assert.Contains(received, r => r.Contains(env["REGISTRY_TOKEN"], StringComparison.Ordinal) && r.Contains(env["PARTNER_HEADER"], StringComparison.Ordinal));
        Assert.Contains(received, r => r.Contains(basic, StringComparison.Ordinal));
        Assert.Contains(smtp.Logins, l => l.Password == env["SMTP_PASSWORD"]);
        Assert.Contains(outputs, o => o.Contains("Authorization=Bearer *** X-Partner-Key=***", StringComparison.Ordinal));
        Assert.Contains(journal, f => f.Name == "lockstep.db");
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(outputs, o => o.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(outputs, o => o.Contains(Uri.EscapeDataString(secret), StringComparison.Ordinal));
            var bytes = Encoding.UTF8.GetBytes(secret);
            Assert.DoesNotContain(journal, f => f.Bytes.AsSpan().IndexOf(bytes) >= 0);
        }
    }

    private static async Task<string> SendAsync(HttpClient http, HttpMethod method, string path, string key, string? body = null, HttpStatusCode expect = HttpStatusCode.OK)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expect, $"{method} {path}: {(int)response.StatusCode} {text}");
        return text;
    }
}
