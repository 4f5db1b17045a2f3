using System.Net;
using System.Text;
using System.Text.Json;
using Lockstep.Cli.Demo;
using Lockstep.Host;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;

namespace Lockstep.Tests.Api;

/// <summary>
/// Publish input found wanting by the convergence gauntlet: invalid Unicode, media types, huge lists of problems,
/// versions at the top of the range, ids derived from parts holding ':', keys holding '/'. Real host, real SQLite.
/// </summary>
public sealed class ApiInputTests : IAsyncLifetime
{
    private const string MaxVersion = "4611686018427387903"; // 2^62 - 1
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
            """;
        _app = LockstepHost.Build(TestEngine.Load(yaml, _folder.Path), "http://127.0.0.1:0");
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_app.ListeningUrl()) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _registry.DisposeAsync();
        _folder.Dispose();
    }

    private async Task<(HttpStatusCode Status, string? ContentType, JsonElement Body, long Length)> PostAsync(string path, string body, string contentType = "application/json")
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeOf(contentType);
        using var response = await _http.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text.Length == 0 ? "null" : text);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, document.RootElement.Clone(), text.Length);
    }

    private static System.Net.Http.Headers.MediaTypeHeaderValue MediaTypeOf(string contentType) =>
        System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, document.RootElement.Clone());
    }

    private static string Event(string entity = "permit", string key = "P-1", string? version = "1", string type = "other", string? id = null) =>
        "{" + (id is null ? "" : $"\"id\":{id},") + $"\"type\":\"{type}\",\"entity\":{JsonSerializer.Serialize(entity)},\"key\":{JsonSerializer.Serialize(key)}"
        + (version is null ? "" : $",\"version\":{version}") + ",\"data\":{\"a\":1}}";

    public static TheoryData<string, string, string> LoneSurrogates() => new()
    {
        { "key", """{"type":"other","entity":"permit","key":"x\ud800y","version":1,"data":{}}""", "key" },
        { "low half in a key", """{"type":"other","entity":"permit","key":"x\udc00","version":1,"data":{}}""", "key" },
        { "id", """{"id":"e\ud800","type":"other","entity":"permit","key":"k","version":1,"data":{}}""", "id" },
        { "entity", """{"type":"other","entity":"\ud800","key":"k","version":1,"data":{}}""", "entity" },
        { "op", """{"type":"other","entity":"permit","key":"k","version":1,"op":"\ud800","data":{}}""", "op" },
        { "in an array", """[{"type":"other","entity":"permit","key":"k","data":{}}, {"type":"other","entity":"permit","key":"\ud800","data":{}}]""", "[1].key" },
        { "field name", """{"type":"other","entity":"permit","key":"k","data":{},"\ud800":1}""", "" },
    };

    [Theory]
    [MemberData(nameof(LoneSurrogates))]
    public async Task A_lone_surrogate_is_a_400_naming_the_field(string name, string body, string field)
    {
        var (status, contentType, problem, _) = await PostAsync("/api/events", body);

        Assert.True(status == HttpStatusCode.BadRequest, $"{name}: {status} {problem}");
        Assert.Equal("application/problem+json", contentType);
        var error = Assert.Single(problem.GetProperty("errors").EnumerateArray());
        Assert.Equal(field, error.GetProperty("field").GetString());
        Assert.Contains("surrogate", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/api/records/permit/k/history")).Status);
    }

    [Fact]
    public async Task A_lone_surrogate_in_a_replay_body_is_a_400()
    {
        var (status, contentType, _, _) = await PostAsync("/api/dead/replay", """{"flow":"x\ud800"}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", contentType);
    }

    [Theory]
    [InlineData("application/x-notjson", 415)]
    [InlineData("application/json-seq", 415)]
    [InlineData("text/plain", 415)]
    [InlineData("application/x-www-form-urlencoded", 415)]
    [InlineData("application/json; charset=utf-16", 415)]
    [InlineData("application/json", 202)]
    [InlineData("application/json; charset=utf-8", 202)]
    [InlineData("application/vnd.permits+json", 202)]
    public async Task Only_json_media_types_are_taken(string contentType, int expected)
    {
        var (status, type, body, _) = await PostAsync("/api/events", Event(), contentType);

        Assert.True((int)status == expected, $"{contentType}: {status} {body}");
        if (expected == 415)
        {
            Assert.Equal("application/problem+json", type);
            Assert.Equal("Content-Type", Assert.Single(body.GetProperty("errors").EnumerateArray()).GetProperty("field").GetString());
        }
    }

    [Fact]
    public async Task Thousands_of_invalid_events_list_the_first_hundred_problems_and_count_the_rest()
    {
        var body = "[" + string.Join(',', Enumerable.Repeat("7", 20_000)) + "]";

        var (status, _, problem, length) = await PostAsync("/api/events", body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var errors = problem.GetProperty("errors").EnumerateArray().ToList();
        Assert.Equal(100, errors.Count);
        Assert.Equal(("[0]", "[99]"), (errors[0].GetProperty("field").GetString(), errors[^1].GetProperty("field").GetString()));
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("20000 problem(s)", detail, StringComparison.Ordinal);
        Assert.Contains("19900 more", detail, StringComparison.Ordinal);
        Assert.True(length < 16 * 1024, $"the answer has {length} characters");
    }

    [Fact]
    public async Task A_version_at_the_top_of_the_range_is_refused_and_assigned_versions_never_wrap()
    {
        var top = await PostAsync("/api/events", Event(key: "P-9", version: "9223372036854775807"));
        var beyond = await PostAsync("/api/events", Event(key: "P-9", version: "9223372036854775808"));
        var highest = await PostAsync("/api/events", Event(key: "P-9", version: MaxVersion));
        var next = await PostAsync("/api/events", Event(key: "P-9", version: null));

        Assert.Equal(HttpStatusCode.BadRequest, top.Status);
        var error = Assert.Single(top.Body.GetProperty("errors").EnumerateArray());
        Assert.Equal("version", error.GetProperty("field").GetString());
        Assert.Contains(MaxVersion, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, beyond.Status);
        Assert.Equal(HttpStatusCode.Accepted, highest.Status);
        Assert.Equal((HttpStatusCode.Accepted, 1), (next.Status, next.Body.GetProperty("accepted").GetInt32()));
        var (_, history) = await GetAsync("/api/records/permit/P-9/history");
        Assert.Equal([long.Parse(MaxVersion, System.Globalization.CultureInfo.InvariantCulture), long.Parse(MaxVersion, System.Globalization.CultureInfo.InvariantCulture) + 1],
            history.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt64()));
    }

    [Fact]
    public async Task Ids_derived_from_entity_and_key_holding_colons_do_not_collide()
    {
        var versioned = await PostAsync("/api/events", $"[{Event(entity: "a:b", key: "c")}, {Event(entity: "a", key: "b:c")}]");
        var assigned = await PostAsync("/api/events", $"[{Event(entity: "x:y", key: "z", version: null)}, {Event(entity: "x", key: "y:z", version: null)}]");
        var resent = await PostAsync("/api/events", Event(entity: "a", key: "b:c"));
        var plain = await PostAsync("/api/events", Event(entity: "permit", key: "P-1"));

        Assert.Equal((2, 0), (versioned.Body.GetProperty("accepted").GetInt32(), versioned.Body.GetProperty("duplicates").GetInt32()));
        Assert.Equal((2, 0), (assigned.Body.GetProperty("accepted").GetInt32(), assigned.Body.GetProperty("duplicates").GetInt32()));
        Assert.Equal(1, resent.Body.GetProperty("duplicates").GetInt32());
        Assert.Equal(1, plain.Body.GetProperty("accepted").GetInt32());
        // Parts without ':' or '%' keep the id they always had.
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/api/events/permit:P-1:1")).Status);
        Assert.Equal("b:c", (await GetAsync("/api/events/a:b%253Ac:1")).Body.GetProperty("key").GetString());
        Assert.Equal("a:b", (await GetAsync("/api/events/a%253Ab:c:1")).Body.GetProperty("entity").GetString());
    }

    [Fact]
    public async Task Keys_holding_a_slash_are_found_with_it_encoded()
    {
        await PostAsync("/api/events", $"[{Event(key: "a/b")}, {Event(key: "x%2Fy")}, {Event(entity: "dir/sub", key: "k")}, {Event(key: "a/b", version: "2", id: "\"ev/2\"")}]");

        var history = await GetAsync("/api/records/permit/a%2Fb/history");
        var literal = await GetAsync("/api/records/permit/x%252Fy/history");
        var entity = await GetAsync("/api/records/dir%2Fsub/k/history");
        var derived = await GetAsync("/api/events/permit:a%2Fb:1");
        var given = await GetAsync("/api/events/ev%2F2");
        var absent = await GetAsync("/api/records/permit/x%2Fy/history");

        Assert.Equal(HttpStatusCode.OK, history.Status);
        Assert.Equal([1L, 2L], history.Body.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt64()));
        Assert.Equal(HttpStatusCode.OK, literal.Status);
        Assert.Equal(HttpStatusCode.OK, entity.Status);
        Assert.Equal((HttpStatusCode.OK, "a/b"), (derived.Status, derived.Body.GetProperty("key").GetString()));
        Assert.Equal((HttpStatusCode.OK, "a/b"), (given.Status, given.Body.GetProperty("key").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, absent.Status);
    }
}
