using System.Net;
using System.Text;
using System.Text.Json;
using Lockstep.Cli.Demo;
using Lockstep.Host;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;

namespace Lockstep.Tests.Api;

/// <summary>The HTTP API served by the real host on 127.0.0.1, port 0, over a real SQLite journal.</summary>
public sealed class ApiTests : IAsyncLifetime
{
    private readonly TempFolder _folder = new();
    private SampleRegistry _registry = null!;
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _registry = await SampleRegistry.StartAsync(failureRate: 0);
        var yaml = $$"""
            storage: sqlite:lockstep.db
            server: { maxBodySize: 64KB }
            systems:
              registry: { type: http, url: "{{_registry.Url}}", concurrency: 4 }
            flows:
              permits:
                on: [permitApproved]
                to: registry
                upsert: PUT /api/records/{key}
                delete: DELETE /api/records/{key}
                retry: { maxAttempts: 3, initialDelay: 10ms, maxDelay: 20ms }
            """;
        _app = LockstepHost.Build(TestEngine.Load(yaml, _folder.Path), "http://127.0.0.1:0");
        await _app.StartAsync();
        var url = _app.ListeningUrl();
        _http = new HttpClient { BaseAddress = new Uri(url) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _registry.DisposeAsync();
        _folder.Dispose();
    }

    private async Task<(HttpStatusCode Status, string? ContentType, JsonElement Body)> PostAsync(string path, string body, string contentType = "application/json")
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new(contentType);
        using var response = await _http.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text.Length == 0 ? "null" : text);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, document.RootElement.Clone());
    }

    private async Task<JsonElement> GetAsync(string path)
    {
        using var document = JsonDocument.Parse(await _http.GetStringAsync(path));
        return document.RootElement.Clone();
    }

    private Task WaitSyncedAsync() => Eventually.WaitAsync(async () => (await GetAsync("/api/status")).GetProperty("state").GetString() == "synced", "synced");

    private const string Valid = """{"type":"permitApproved","entity":"permit","key":"P-1","version":1,"data":{"id":"P-1"}}""";

    [Fact]
    public async Task Publish_answers_202_with_accepted_duplicate_and_stale_counts()
    {
        var first = await PostAsync("/api/events", $"[{Valid}, {Valid.Replace("\"version\":1", "\"version\":2")}]");
        var again = await PostAsync("/api/events", Valid);

        Assert.Equal(HttpStatusCode.Accepted, first.Status);
        Assert.Equal(2, first.Body.GetProperty("accepted").GetInt32());
        Assert.Equal(0, first.Body.GetProperty("duplicates").GetInt32());
        Assert.Equal(1, again.Body.GetProperty("duplicates").GetInt32());
        await WaitSyncedAsync();
        Assert.Equal("permits:permit:P-1:2", _registry.Requests.Last().IdempotencyKey);
    }

    [Fact]
    public async Task Older_version_is_accepted_and_ignored()
    {
        await PostAsync("/api/events", Valid.Replace("\"version\":1", "\"version\":5"));
        var stale = await PostAsync("/api/events", Valid.Replace("\"version\":1", "\"version\":4"));

        Assert.Equal(HttpStatusCode.Accepted, stale.Status);
        Assert.Equal(1, stale.Body.GetProperty("stale").GetInt32());
        await WaitSyncedAsync();
        Assert.All(_registry.Requests, r => Assert.Equal("permits:permit:P-1:5", r.IdempotencyKey));
    }

    public static TheoryData<string, string, int, string> BadBodies() => new()
    {
        { "malformed", "{\"type\": ", 400, "" },
        { "not json", "hello", 400, "" },
        { "a number", "42", 400, "" },
        { "empty array", "[]", 400, "" },
        { "missing fields", "{\"type\":\"permitApproved\"}", 400, "entity" },
        { "wrong type", Valid.Replace("\"P-1\",\"version\"", "123,\"version\""), 400, "key" },
        { "negative version", Valid.Replace("\"version\":1", "\"version\":-1"), 400, "version" },
        { "fractional version", Valid.Replace("\"version\":1", "\"version\":1.5"), 400, "version" },
        { "huge version", Valid.Replace("\"version\":1", "\"version\":1e400"), 400, "version" },
        { "unknown op", Valid.Replace("\"version\":1", "\"version\":1,\"op\":\"merge\""), 400, "op" },
        { "data not an object", Valid.Replace("{\"id\":\"P-1\"}", "[1,2]"), 400, "data" },
        { "unknown field", Valid.Replace("\"version\":1", "\"version\":1,\"verison\":2"), 400, "verison" },
        { "control character in key", Valid.Replace("P-1", "P\\u0000-1"), 400, "key" },
        { "empty type", Valid.Replace("permitApproved", ""), 400, "type" },
        { "one bad element", $"[{Valid}, 7]", 400, "[1]" },
        { "deep nesting", new string('[', 5000) + new string(']', 5000), 400, "" },
        { "deep data", Valid.Replace("{\"id\":\"P-1\"}", string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 200)), 400, "" },
        { "too large", "[" + string.Join(',', Enumerable.Repeat(Valid, 2000)) + "]", 413, "body" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Bad_input_is_a_problem_naming_the_field_and_nothing_is_stored(string name, string body, int status, string field)
    {
        var (code, contentType, problem) = await PostAsync("/api/events", body);

        Assert.True((int)code == status, $"{name}: {code} {problem}");
        Assert.Equal("application/problem+json", contentType);
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        if (field.Length > 0)
            Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetProperty("field").GetString()!.Contains(field, StringComparison.Ordinal));
        var flows = (await GetAsync("/api/status")).GetProperty("flows").GetProperty("permits");
        Assert.Equal(0, flows.GetProperty("pending").GetInt64() + flows.GetProperty("inFlight").GetInt64() + flows.GetProperty("delivered").GetInt64());

        var healthy = await PostAsync("/api/events", Valid);
        Assert.Equal(HttpStatusCode.Accepted, healthy.Status);
    }

    [Fact]
    public async Task Invalid_utf8_and_wrong_media_type_are_rejected()
    {
        using var bytes = new ByteArrayContent([(byte)'{', 0xC3, 0x28, (byte)'}']);
        bytes.Headers.ContentType = new("application/json");
        using var invalid = await _http.PostAsync("/api/events", bytes);
        var text = await PostAsync("/api/events", Valid, "text/plain");

        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.Status);
    }

    [Fact]
    public async Task Event_view_shows_the_state_on_each_flow_with_attempts()
    {
        await PostAsync("/api/events", Valid);
        await WaitSyncedAsync();

        var view = await GetAsync("/api/events/permit:P-1:1");
        using var missing = await _http.GetAsync("/api/events/nope");

        var flow = Assert.Single(view.GetProperty("flows").EnumerateArray());
        Assert.Equal("delivered", flow.GetProperty("state").GetString());
        Assert.Equal(200, Assert.Single(flow.GetProperty("attempts").EnumerateArray()).GetProperty("statusCode").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Dead_letters_are_listed_replayed_and_dropped_over_http()
    {
        var reject = true;
        _registry.Override = key => reject ? 400 : null;
        await PostAsync("/api/events", $"[{Valid}, {Valid.Replace("P-1", "P-2")}]");
        await Eventually.WaitAsync(async () => (await GetAsync("/api/dead")).GetArrayLength() == 2, "two dead letters");
        var dead = await GetAsync("/api/dead?flow=permits");
        var status = await GetAsync("/api/status/registry");
        reject = false;

        var replay = await PostAsync("/api/dead/replay", $$"""{"ids":[{{dead[0].GetProperty("id").GetInt64()}}]}""");
        using var drop = await _http.DeleteAsync($"/api/dead/{dead[1].GetProperty("id").GetInt64()}");
        using var dropAgain = await _http.DeleteAsync($"/api/dead/{dead[1].GetProperty("id").GetInt64()}");
        var badReplay = await PostAsync("/api/dead/replay", """{"ids":["x"]}""");
        await WaitSyncedAsync();

        Assert.Equal("failing", status.GetProperty("state").GetString());
        Assert.Equal(2, status.GetProperty("dead").GetInt64());
        Assert.Equal(1, replay.Body.GetProperty("replayed").GetInt32());
        Assert.Equal(HttpStatusCode.NoContent, drop.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, dropAgain.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badReplay.Status);
        Assert.Equal([dead[0].GetProperty("key").GetString()!], _registry.Records.Keys);
        var audit = await GetAsync("/api/audit");
        Assert.Equal(["drop", "replay"], audit.EnumerateArray().Select(a => a.GetProperty("action").GetString()));
        Assert.All(audit.EnumerateArray(), a => Assert.Equal("anonymous", a.GetProperty("actor").GetString()));
        Assert.Equal("1 replayed", audit[1].GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Record_history_shows_every_version_and_every_attempt_per_flow()
    {
        var fail = true;
        _registry.Override = _ => fail ? 503 : null;
        await PostAsync("/api/events", Valid);
        await Eventually.WaitAsync(() => !_registry.Requests.IsEmpty, "a first attempt");
        fail = false;
        await WaitSyncedAsync();
        await PostAsync("/api/events", Valid.Replace("\"version\":1", "\"version\":2"));
        await WaitSyncedAsync();

        var history = await GetAsync("/api/records/permit/P-1/history");
        using var missing = await _http.GetAsync("/api/records/permit/nope/history");

        Assert.Equal([1L, 2L], history.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt64()));
        var attempts = history.GetProperty("flows").GetProperty("permits").EnumerateArray().ToList();
        Assert.Equal("retry", attempts[0].GetProperty("outcome").GetString());
        Assert.Equal(503, attempts[0].GetProperty("statusCode").GetInt32());
        Assert.Equal(("delivered", 2L), (attempts[^1].GetProperty("outcome").GetString(), attempts[^1].GetProperty("version").GetInt64()));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Metrics_count_events_and_deliveries_in_prometheus_text()
    {
        await PostAsync("/api/events", $"[{Valid}, {Valid}]");
        await WaitSyncedAsync();

        using var response = await _http.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString());
        Assert.Contains("lockstep_events_total{result=\"accepted\"} 1", text);
        Assert.Contains("lockstep_events_total{result=\"duplicate\"} 1", text);
        Assert.Contains("lockstep_deliveries_total{flow=\"permits\",system=\"registry\",outcome=\"delivered\"} 1", text);
        Assert.Contains("lockstep_pending{flow=\"permits\",system=\"registry\"} 0", text);
        Assert.Contains("lockstep_circuit_state{system=\"registry\"} 0", text);
        Assert.Contains("lockstep_attempt_duration_seconds_count{system=\"registry\"} 1", text);
    }

    [Fact]
    public async Task Status_has_every_documented_field_even_before_any_delivery()
    {
        var status = await GetAsync("/api/status");

        Assert.Equal("synced", status.GetProperty("state").GetString());
        var registry = status.GetProperty("systems").GetProperty("registry");
        foreach (var field in new[] { "state", "pending", "inFlight", "delivered", "dead", "lagSeconds", "circuit", "lastSuccessAt", "lastFailureAt", "lastError" })
            Assert.True(registry.TryGetProperty(field, out _), $"systems.registry.{field} is missing");
        Assert.Equal("closed", registry.GetProperty("circuit").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, registry.GetProperty("lastError").ValueKind);
        Assert.True(status.GetProperty("flows").GetProperty("permits").TryGetProperty("lagSeconds", out _));
    }

    [Fact]
    public async Task Health_and_unknown_system()
    {
        using var live = await _http.GetAsync("/health/live");
        using var ready = await _http.GetAsync("/health/ready");
        using var unknown = await _http.GetAsync("/api/status/nope");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }
}
