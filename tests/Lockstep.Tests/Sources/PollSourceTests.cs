using Lockstep.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Sources;

/// <summary>Poll sources on a fake clock against a real clerk server and a real SQLite journal.</summary>
public sealed class PollSourceTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = Clock.Fake();
    private readonly TempFolder _folder = new();
    private Clerk _clerk = null!;

    public async Task InitializeAsync() => _clerk = await Clerk.StartAsync(_time);

    public async Task DisposeAsync()
    {
        await _clerk.DisposeAsync();
        _folder.Dispose();
    }

    private string Yaml(string extra = "") => $$"""
        storage: sqlite:lockstep.db
        systems:
          clerk: { type: http, url: "{{_clerk.Url}}" }
          sink: { type: http, url: "http://127.0.0.1:9" }
        sources:
          permits:
            type: http-poll
            from: clerk
            get: GET /permits?since={cursor}
            interval: 5m
            entity: permit
            key: id
            version: updatedAt
            cursor: updatedAt
            overlap: 10s
        {{extra}}
        flows:
          keep: { entity: nothing, to: sink, upsert: "PUT /x/{key}" }
        """;

    private Task<TestEngine> StartAsync(string? yaml = null) => TestEngine.StartAsync(yaml ?? Yaml(), _time, folder: _folder);

    private static readonly DateTimeOffset T = Clock.T0.AddHours(-1);

    [Fact]
    public async Task Schedule_polls_on_its_interval_without_sleeping()
    {
        _clerk.Put("P-1", "approved", T);
        var engine = await StartAsync();

        await Eventually.WaitAsync(() => _clerk.Queries.Count == 1, "the first poll at start");
        // Half a minute at a time: a poll due any earlier than the interval would come (and be stamped) before 5 minutes.
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromSeconds(30), () => Task.FromResult(_clerk.Queries.Count >= 2), "the second poll");

        var at = _clerk.QueriedAt.ToArray();
        Assert.True(at[1] - at[0] >= TimeSpan.FromMinutes(5), $"the second poll came {at[1] - at[0]} after the first, on a 5m interval");
        var status = (await engine.StatusAsync()).Sources!["permits"];
        Assert.Equal("every 5m", status.Schedule);
        Assert.NotNull(status.NextRunAt);
        await engine.DisposeAsync();
    }

    [Fact]
    public async Task Overlap_repeats_are_duplicates_and_the_cursor_survives_a_restart()
    {
        _clerk.Put("P-1", "approved", T.AddSeconds(1));
        _clerk.Put("P-2", "approved", T.AddSeconds(2));
        var engine = await StartAsync();
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources!["permits"].Accepted == 2, "two permits in");

        var again = await engine.Engine.SyncAsync("permits", full: false, CancellationToken.None);
        await engine.Engine.StopAsync(CancellationToken.None);
        await engine.Engine.DisposeAsync();
        _clerk.Put("P-3", "approved", T.AddSeconds(3));
        engine = await StartAsync();
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources!["permits"].LastRunAt is not null, "the first poll after the restart");
        var afterRestart = (await engine.StatusAsync()).Sources!["permits"];

        Assert.Equal("0 new events", again!.Outcome);
        Assert.Equal(T.AddSeconds(-8).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture), _clerk.Queries.Last());
        Assert.Equal(1, afterRestart.Accepted);
        Assert.Equal(3, afterRestart.Items);
        await engine.DisposeAsync();
    }

    [Fact]
    public async Task Pages_follow_the_link_header_up_to_the_page_limit()
    {
        foreach (var i in Enumerable.Range(1, 7)) _clerk.Put($"P-{i}", "approved", T.AddSeconds(i));
        _clerk.PageSize = 2;
        var engine = await StartAsync(Yaml().Replace("overlap: 10s", "overlap: 10s\n    maxPages: 3"));

        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources!["permits"].LastRunAt is not null, "the first poll");
        var first = (await engine.StatusAsync()).Sources!["permits"];
        await engine.Engine.SyncAsync("permits", full: false, CancellationToken.None);
        var second = (await engine.StatusAsync()).Sources!["permits"];

        Assert.Equal((6L, 6L), (first.Items, first.Accepted));
        Assert.Equal(T.AddSeconds(6).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture), first.Cursor);
        Assert.Equal(1, second.Accepted);
        await engine.DisposeAsync();
    }

    [Fact]
    public async Task Engine_schedule_runs_a_source_on_its_own_interval()
    {
        var yaml = Yaml().Replace("interval: 5m", "interval: 1d") + "\nschedules:\n  often: { run: permits, interval: 10m }\n";
        var engine = await StartAsync(yaml);
        // Both jobs run once at start (the source's own 1d interval and the schedule), one query each (the clerk is empty).
        await Eventually.WaitAsync(() => _clerk.Queries.Count >= 2, "the first poll of each job");
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Schedules?["often"].LastRunAt is not null, "the schedule's first run");
        var before = _clerk.Queries.Count;

        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromMinutes(1), () => Task.FromResult(_clerk.Queries.Count > before), "a scheduled poll");

        var schedule = (await engine.StatusAsync()).Schedules!["often"];
        Assert.Equal("every 10m", schedule.Schedule);
        Assert.Equal("0 new events", schedule.LastOutcome);
        Assert.True(_time.GetUtcNow() - Clock.T0 >= TimeSpan.FromMinutes(10));
        await engine.DisposeAsync();
    }

    [Fact]
    public async Task New_content_under_a_version_that_went_back_still_reaches_the_target_as_the_newest_state()
    {
        await using var registry = await Lockstep.Cli.Demo.SampleRegistry.StartAsync(failureRate: 0);
        var yaml = Yaml().Replace("url: \"http://127.0.0.1:9\"", $"url: \"{registry.Url}\"")
            .Replace("keep: { entity: nothing, to: sink, upsert: \"PUT /x/{key}\" }",
                "keep: { entity: permit, to: sink, upsert: \"PUT /api/records/{key}\", headers: { X-Record-Version: \"{version}\" } }");
        _clerk.Put("P-1", "approved", T);
        await using var engine = await StartAsync(yaml);
        await Eventually.WaitAsync(() => registry.Records.TryGetValue("P-1", out var r) && r.Body.Contains("approved", StringComparison.Ordinal), "P-1 approved at the target");

        // A transaction that committed late with an earlier updatedAt (within the overlap), then a change under that same version.
        _clerk.Put("P-1", "revoked", T.AddSeconds(-5));
        await engine.Engine.SyncAsync("permits", full: false, CancellationToken.None);
        await Eventually.WaitAsync(() => registry.Records["P-1"].Body.Contains("revoked", StringComparison.Ordinal), "P-1 revoked at the target");
        _clerk.Put("P-1", "suspended", T.AddSeconds(-5));
        await engine.Engine.SyncAsync("permits", full: false, CancellationToken.None);
        await Eventually.WaitAsync(() => registry.Records["P-1"].Body.Contains("suspended", StringComparison.Ordinal), "P-1 suspended at the target");
        var again = await engine.Engine.SyncAsync("permits", full: false, CancellationToken.None);
        await engine.WaitForStateAsync("synced");

        Assert.Equal("0 new events", again!.Outcome);
        Assert.Equal(2, (await engine.StatusAsync()).Sources!["permits"].OutOfOrder);
        Assert.Equal(["approved", "revoked", "suspended"], registry.Requests.Select(r => System.Text.Json.JsonDocument.Parse(r.Body).RootElement.GetProperty("status").GetString()));
        Assert.Equal(0, registry.Regressions);
    }

    [Fact]
    public async Task A_failing_source_shows_in_status_and_keeps_its_cursor()
    {
        var yaml = Yaml().Replace(_clerk.Url, "http://127.0.0.1:9");
        var engine = await StartAsync(yaml);

        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources!["permits"].State == "failing", "failing");

        var status = (await engine.StatusAsync()).Sources!["permits"];
        Assert.Contains("network error", status.LastError);
        Assert.Null(status.Cursor);
        await engine.DisposeAsync();
    }
}
