using System.Net;
using System.Text;
using System.Text.Json;
using Lockstep.Cli.Demo;
using Lockstep.Host;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;

namespace Lockstep.Tests.Api;

/// <summary>An event's <c>targets</c> narrows its routing to the flows or systems it names. Real host, real SQLite, two real targets.</summary>
public sealed class EventTargetTests : IAsyncLifetime
{
    private readonly TempFolder _folder = new();
    private SampleRegistry _registry = null!;
    private SampleRegistry _archive = null!;
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _registry = await SampleRegistry.StartAsync(failureRate: 0);
        _archive = await SampleRegistry.StartAsync(failureRate: 0);
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              registry: { type: http, url: "{{_registry.Url}}" }
              archive: { type: http, url: "{{_archive.Url}}" }
            flows:
              to-registry: { on: [permitApproved], to: registry, upsert: "PUT /api/records/{key}" }
              to-archive: { on: [permitApproved], to: archive, upsert: "PUT /api/records/{key}" }
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
        await _archive.DisposeAsync();
        _folder.Dispose();
    }

    private static string Permit(string key, string? targets = null) =>
        $$"""{"type":"permitApproved","entity":"permit","key":"{{key}}","version":1,"data":{"id":"{{key}}"}{{(targets is null ? "" : $",\"targets\":{targets}")}}}""";

    private async Task<(HttpStatusCode Status, JsonElement Body)> PublishAsync(string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync("/api/events", content);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, document.RootElement.Clone());
    }

    [Fact]
    public async Task Targets_narrow_routing_by_flow_or_by_system()
    {
        var (status, _) = await PublishAsync($"[{Permit("P-1", """["to-registry"]""")},{Permit("P-2", """["archive"]""")},{Permit("P-3")}]");
        await Eventually.WaitAsync(async () =>
        {
            using var document = JsonDocument.Parse(await _http.GetStringAsync("/api/status"));
            return document.RootElement.GetProperty("state").GetString() == "synced";
        }, "synced");

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(["P-1", "P-3"], _registry.Records.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["P-2", "P-3"], _archive.Records.Keys.Order(StringComparer.Ordinal));
        using var p1 = JsonDocument.Parse(await _http.GetStringAsync("/api/events/permit:P-1:1"));
        Assert.Equal("""["to-registry"]""", JsonSerializer.Serialize(p1.RootElement.GetProperty("flows").EnumerateArray().Select(f => f.GetProperty("flow").GetString())));
    }

    [Fact]
    public async Task An_unknown_target_is_a_400_naming_the_field_and_nothing_is_stored()
    {
        var (status, problem) = await PublishAsync($"[{Permit("P-1")},{Permit("P-2", """["to-registry","nowhere",7]""")}]");
        var (emptyStatus, empty) = await PublishAsync(Permit("P-3", "[]"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var errors = problem.GetProperty("errors").EnumerateArray().Select(e => (e.GetProperty("field").GetString(), e.GetProperty("message").GetString())).ToList();
        Assert.Equal(2, errors.Count);
        Assert.Equal("[1].targets[1]", errors[0].Item1);
        Assert.Contains("'nowhere' is not a flow", errors[0].Item2, StringComparison.Ordinal);
        Assert.Equal("[1].targets[2]", errors[1].Item1);
        Assert.Equal((HttpStatusCode.BadRequest, "targets"), (emptyStatus, Assert.Single(empty.GetProperty("errors").EnumerateArray()).GetProperty("field").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/api/events/permit:P-1:1")).StatusCode);
    }
}
