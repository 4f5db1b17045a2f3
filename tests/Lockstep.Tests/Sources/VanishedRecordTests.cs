using System.Collections.Concurrent;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Sources;

/// <summary>
/// Full runs of a poll source find the records it no longer returns: a real clerk server, a real registry the permits
/// flow to, a real SQLite journal, a fake clock.
/// </summary>
public sealed class VanishedRecordTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T = Clock.T0.AddHours(-1);
    private readonly FakeTimeProvider _time = Clock.Fake();
    private readonly ConcurrentDictionary<string, string> _registry = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _deletes = new();
    private Clerk _clerk = null!;
    private PartnerServer _target = null!;

    public async Task InitializeAsync()
    {
        _clerk = await Clerk.StartAsync();
        _target = await PartnerServer.StartAsync(app =>
        {
            app.MapPut("/records/{id}", async (string id, HttpContext context) =>
            {
                _registry[id] = await new StreamReader(context.Request.Body).ReadToEndAsync();
                return Results.NoContent();
            });
            app.MapDelete("/records/{id}", (string id) =>
            {
                _deletes.Enqueue(id);
                return _registry.TryRemove(id, out _) ? Results.NoContent() : Results.NotFound();
            });
        });
    }

    public async Task DisposeAsync()
    {
        await _target.DisposeAsync();
        await _clerk.DisposeAsync();
    }

    private string Yaml(string vanished) => $$"""
        storage: sqlite:lockstep.db
        systems:
          clerk: { type: http, url: "{{_clerk.Url}}" }
          registry: { type: http, url: "{{_target.Url}}" }
        sources:
          permits:
            type: http-poll
            from: clerk
            get: GET /permits?since={cursor}
            interval: 1h
            entity: permit
            key: id
            version: updatedAt
            cursor: updatedAt
            overlap: 10s
            vanished: {{vanished}}
        flows:
          permits-out: { entity: permit, to: registry, upsert: "PUT /records/{key}", delete: "DELETE /records/{key}" }
        """;

    private async Task<TestEngine> StartWithFourPermitsAsync(string vanished)
    {
        foreach (var i in Enumerable.Range(1, 4)) _clerk.Put($"P-{i}", "approved", T.AddSeconds(i));
        var engine = await TestEngine.StartAsync(Yaml(vanished), _time);
        await engine.PublishAsync(TestEngine.Permit("P-9", 1));   // published, never polled: not the source's to delete
        await Eventually.WaitAsync(() => _registry.Count == 5, "four polled permits and one published at the registry", signal: engine.Committed);
        await engine.WaitForStateAsync("synced");
        _clerk.Permits.TryRemove("P-2", out _);
        _clerk.Permits.TryRemove("P-4", out _);
        return engine;
    }

    [Fact]
    public async Task A_full_poll_turns_vanished_records_into_deletes_delivered_to_flows_and_an_incremental_poll_never_does()
    {
        await using var engine = await StartWithFourPermitsAsync("delete");

        var incremental = await engine.Engine.SyncAsync("permits", full: false, CancellationToken.None);
        var afterIncremental = (await engine.StatusAsync()).Sources!["permits"];
        var full = await engine.Engine.SyncAsync("permits", full: true, CancellationToken.None);
        await Eventually.WaitAsync(() => !_registry.ContainsKey("P-2") && !_registry.ContainsKey("P-4"), "the vanished permits deleted at the registry", signal: engine.Committed);
        await engine.WaitForStateAsync("synced");
        var again = await engine.Engine.SyncAsync("permits", full: true, CancellationToken.None);

        Assert.Equal("0 new events", incremental!.Outcome);
        Assert.Null(afterIncremental.Vanished);
        Assert.Equal("2 new events, 2 vanished", full!.Outcome);
        Assert.Equal(["P-2", "P-4"], _deletes.Order(StringComparer.Ordinal));
        Assert.Equal(["P-1", "P-3", "P-9"], _registry.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("0 new events, 0 vanished", again!.Outcome);
        var source = (await engine.StatusAsync()).Sources!["permits"];
        Assert.Equal((0L, "2 items, 0 new, 0 vanished"), (source.Vanished, source.LastOutcome));
    }

    [Fact]
    public async Task Vanished_report_counts_and_journals_nothing()
    {
        await using var engine = await StartWithFourPermitsAsync("report");

        var full = await engine.Engine.SyncAsync("permits", full: true, CancellationToken.None);
        var again = await engine.Engine.SyncAsync("permits", full: true, CancellationToken.None);

        Assert.Equal("0 new events, 2 vanished", full!.Outcome);
        Assert.Equal("0 new events, 2 vanished", again!.Outcome);
        Assert.Equal(2, (await engine.StatusAsync()).Sources!["permits"].Vanished);
        Assert.Empty(_deletes);
    }

    [Fact]
    public async Task A_full_poll_cut_short_by_its_page_limit_deletes_nothing()
    {
        _clerk.PageSize = 1;
        foreach (var i in Enumerable.Range(1, 5)) _clerk.Put($"P-{i}", "approved", T.AddSeconds(i));
        var yaml = Yaml("delete").Replace("overlap: 10s", "overlap: 10s\n    maxPages: 3");
        await using var engine = await TestEngine.StartAsync(yaml, _time);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources!["permits"].Accepted == 3, "the first three pages");
        var rest = await engine.Engine.SyncAsync("permits", full: false, CancellationToken.None);
        _clerk.Permits.TryRemove("P-5", out _);  // four pages remain: more than a run reads

        var full = await engine.Engine.SyncAsync("permits", full: true, CancellationToken.None);

        Assert.Equal("2 new events", rest!.Outcome);
        Assert.Equal("0 new events", full!.Outcome);
        Assert.Equal("3 items, 0 new, vanished records not checked (the read was incomplete)", (await engine.StatusAsync()).Sources!["permits"].LastOutcome);
        Assert.Empty(_deletes);
    }
}
