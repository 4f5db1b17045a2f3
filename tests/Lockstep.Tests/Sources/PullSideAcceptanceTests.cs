using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Lockstep.Host;
using Lockstep.Sources;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Tests.Sources;

/// <summary>
/// The pull-side issue's acceptance example as written (ports aside): the clerk polled every 2 s with a since-cursor,
/// the marshal written by PUT and read back by GET for a full reconciliation, and the marshal's pushes arriving as
/// Standard Webhooks. Real Kestrel servers, the real host, a real SQLite journal, real time.
/// </summary>
public sealed class PullSideAcceptanceTests : IAsyncLifetime
{
    private const string Yaml = """
        storage: sqlite:data/lockstep.db
        systems:
          clerk:   { type: http, url: http://127.0.0.1:7001 }
          marshal: { type: http, url: http://127.0.0.1:7002 }
        sources:
          clerk-permits:
            type: http-poll
            from: clerk
            get: GET /permits?since={cursor}
            interval: 2s
            entity: permit
            key: id
            version: updatedAt          # timestamps become increasing versions
            cursor: updatedAt           # the next {cursor} is the max updatedAt seen
            overlap: 5s
          marshal-hooks:
            type: webhook
            verify: { standardWebhooks: "${MARSHAL_WEBHOOK_SECRET}" }
            map: (body) => ({ entity: "inspection", key: body.permitId, version: body.rev, data: body })
        flows:
          permits-to-marshal:
            entity: permit
            to: marshal
            map: (p) => ({ permitId: p.id, address: p.location, status: p.status })
            upsert: PUT /inspections/{key}
            get: GET /inspections/{key}
            reconcile: { cron: "0 2 * * *", deleteExtra: false }
        """;

    private readonly string _secret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
    private readonly TempFolder _folder = new();
    private readonly ConcurrentDictionary<string, string> _inspections = new();
    private Clerk _clerk = null!;
    private PartnerServer _marshal = null!;
    private WebApplication _app = null!;
    private HttpClient _http = null!;
    private readonly DateTimeOffset _t0 = DateTimeOffset.UtcNow.AddMinutes(-10);

    public async Task InitializeAsync()
    {
        _clerk = await Clerk.StartAsync();
        _marshal = await PartnerServer.StartAsync(app =>
        {
            app.MapPut("/inspections/{id}", async (string id, HttpContext context) =>
            {
                _inspections[id] = await new StreamReader(context.Request.Body).ReadToEndAsync();
                return Results.NoContent();
            });
            app.MapGet("/inspections/{id}", (string id) => _inspections.TryGetValue(id, out var body) ? Results.Text(body, "application/json") : Results.NotFound());
        });
        var yaml = Yaml.Replace("http://127.0.0.1:7001", _clerk.Url).Replace("http://127.0.0.1:7002", _marshal.Url);
        var config = TestEngine.Load(yaml, _folder.Path, new Dictionary<string, string> { ["MARSHAL_WEBHOOK_SECRET"] = _secret });
        _app = LockstepHost.Build(config, "http://127.0.0.1:0");
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_app.ListeningUrl()) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _marshal.DisposeAsync();
        await _clerk.DisposeAsync();
        _folder.Dispose();
    }

    private bool MarshalHas(string id, string status) =>
        _inspections.TryGetValue(id, out var body) && body.Contains($"\"status\":\"{status}\"", StringComparison.Ordinal);

    private async Task<JsonElement> StatusAsync()
    {
        using var document = JsonDocument.Parse(await _http.GetStringAsync("/api/status"));
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task Marshal_follows_the_clerk_including_late_rows_inside_the_overlap()
    {
        _clerk.Put("P-1", "approved", _t0.AddSeconds(1));
        _clerk.Put("P-2", "approved", _t0.AddSeconds(2));
        _clerk.Put("P-3", "pending", _t0.AddSeconds(3));
        await Eventually.WaitAsync(() => MarshalHas("P-1", "approved") && MarshalHas("P-2", "approved") && MarshalHas("P-3", "pending"), "the marshal has the clerk's permits");

        _clerk.Put("P-3", "approved", _t0.AddSeconds(10));
        await Eventually.WaitAsync(() => MarshalHas("P-3", "approved"), "the change");
        _clerk.Put("P-4", "late", _t0.AddSeconds(7));  // committed late: older than the cursor (t0+10), inside the 5 s overlap
        await Eventually.WaitAsync(() => MarshalHas("P-4", "late"), "the late row");

        Assert.Equal(JsonSerializer.Serialize(new { permitId = "P-3", address = "1 Main St", status = "approved" }), _inspections["P-3"]);
        Assert.Contains(_clerk.Queries, q => q == "");
        Assert.Contains(_clerk.Queries, q => q == _t0.AddSeconds(5).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        var source = (await StatusAsync()).GetProperty("sources").GetProperty("clerk-permits");
        Assert.Equal("ok", source.GetProperty("state").GetString());
        Assert.Equal(_t0.AddSeconds(10).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture), source.GetProperty("cursor").GetString());
    }

    [Fact]
    public async Task Full_sync_repairs_records_changed_behind_lockstep_and_reports_drift()
    {
        foreach (var i in Enumerable.Range(1, 5)) _clerk.Put($"P-{i}", "approved", _t0.AddSeconds(i));
        await Eventually.WaitAsync(() => Enumerable.Range(1, 5).All(i => MarshalHas($"P-{i}", "approved")), "all five at the marshal");
        await Eventually.WaitAsync(async () => (await StatusAsync()).GetProperty("state").GetString() == "synced", "synced");
        _inspections["P-2"] = """{"permitId":"P-2","address":"1 Main St","status":"cancelled","note":"edited by hand"}""";
        _inspections.TryRemove("P-4", out _);

        using var response = await _http.PostAsync("/api/sync/permits-to-marshal?full=true", null);
        var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        await Eventually.WaitAsync(() => MarshalHas("P-2", "approved") && MarshalHas("P-4", "approved"), "repaired");
        var report = (await StatusAsync()).GetProperty("flows").GetProperty("permits-to-marshal").GetProperty("lastReconcile");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("checked 5, missing 1, different 1, repaired 2", answer.GetProperty("outcome").GetString());
        Assert.Equal((5, 1, 1, 0, 2), (report.GetProperty("checked").GetInt64(), report.GetProperty("missing").GetInt64(),
            report.GetProperty("different").GetInt64(), report.GetProperty("extra").GetInt64(), report.GetProperty("repaired").GetInt64()));
        Assert.Equal("permit/P-4", report.GetProperty("samples").GetProperty("missing")[0].GetString());
        var again = await LockstepProcess.RunAsync(["sync", "permits-to-marshal", "--full", "--url", _http.BaseAddress!.ToString()]);
        Assert.Equal((0, "flow permits-to-marshal: checked 5, missing 0, different 0, repaired 0"), (again.ExitCode, again.Output.Trim()));
    }

    private async Task<HttpResponseMessage> PushAsync(string id, DateTimeOffset at, string body, string? signature = null)
    {
        var timestamp = at.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/marshal-hooks") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("webhook-id", id);
        request.Headers.Add("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", signature ?? WebhookCheck.Sign(_secret, id, timestamp, Encoding.UTF8.GetBytes(body)));
        return await _http.SendAsync(request);
    }

    [Fact]
    public async Task Signed_webhook_is_journaled_once_and_bad_ones_get_401()
    {
        const string body = """{"permitId":"P-7","rev":3,"result":"passed"}""";

        using var first = await PushAsync("msg_1", DateTimeOffset.UtcNow, body);
        using var replay = await PushAsync("msg_1", DateTimeOffset.UtcNow, body);
        using var forged = await PushAsync("msg_2", DateTimeOffset.UtcNow, body, "v1," + Convert.ToBase64String(new byte[32]));
        using var stale = await PushAsync("msg_3", DateTimeOffset.UtcNow.AddMinutes(-6), body);
        using var stored = await _http.GetAsync("/api/events/marshal-hooks:msg_1");
        var view = JsonDocument.Parse(await stored.Content.ReadAsStringAsync()).RootElement;
        var source = (await StatusAsync()).GetProperty("sources").GetProperty("marshal-hooks");

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Contains("\"duplicate\":true", await replay.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal("application/problem+json", forged.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        Assert.Equal(("inspection", "P-7", 3), (view.GetProperty("entity").GetString(), view.GetProperty("key").GetString(), view.GetProperty("version").GetInt32()));
        Assert.Equal(2, source.GetProperty("rejected").GetInt64());
        Assert.DoesNotContain(_secret, await _http.GetStringAsync("/api/status"));
    }
}
