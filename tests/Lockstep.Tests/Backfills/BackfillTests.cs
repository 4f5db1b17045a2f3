using Lockstep.Cli.Demo;
using Lockstep.Records;
using Lockstep.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Backfills;

/// <summary>A flow added to a journal that already holds records receives their newest state. Real engine, real SQLite, real targets.</summary>
public sealed class BackfillTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = Clock.Fake();
    private SampleRegistry _registry = null!;
    private SampleRegistry _archive = null!;

    public async Task InitializeAsync()
    {
        _registry = await SampleRegistry.StartAsync(failureRate: 0);
        _archive = await SampleRegistry.StartAsync(failureRate: 0);
    }

    public async Task DisposeAsync()
    {
        await _registry.DisposeAsync();
        await _archive.DisposeAsync();
    }

    private string Yaml(bool withArchive) => $$"""
        storage: sqlite:lockstep.db
        systems:
          registry: { type: http, url: "{{_registry.Url}}" }
          archive: { type: http, url: "{{_archive.Url}}" }
        flows:
          to-registry: { on: [permitApproved, permitRevoked], to: registry, upsert: "PUT /api/records/{key}", delete: "DELETE /api/records/{key}", headers: { X-Record-Version: "{version}" } }
        {{(withArchive ? "  to-archive: { on: [permitApproved], to: archive, upsert: \"PUT /api/records/{key}\", delete: \"DELETE /api/records/{key}\", headers: { X-Record-Version: \"{version}\" } }" : "")}}
        """;

    [Fact]
    public async Task A_flow_new_to_the_journal_receives_the_newest_state_of_every_matching_record()
    {
        using var folder = new TempFolder();
        await using (var before = await TestEngine.StartAsync(Yaml(withArchive: false), _time, folder: folder))
        {
            await before.PublishAsync(
                TestEngine.Permit("P-1", 1), TestEngine.Permit("P-1", 2), TestEngine.Permit("P-2", 1), TestEngine.Permit("P-3", 1),
                TestEngine.Permit("P-3", 2, op: RecordOp.Delete), TestEngine.Permit("P-4", 1, type: "permitRevoked"));
            await before.WaitForStateAsync("synced");
        }
        var registryRequests = _registry.Requests.Count;

        await using var after = await TestEngine.StartAsync(Yaml(withArchive: true), _time, folder: folder);
        await after.WaitForStateAsync("synced");
        var status = await after.StatusAsync();

        Assert.Equal(["P-1", "P-2"], _archive.Records.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, _archive.Records["P-1"].Version);
        Assert.Equal(registryRequests, _registry.Requests.Count);
        var backfill = status.Flows["to-archive"].Backfill!;
        // Every record was looked at (completion events' records too); the two the flow takes were sent.
        Assert.Equal((2L, true), (backfill.Sent, backfill.FinishedAt is not null));
        Assert.True(backfill.Checked >= 3, $"{backfill.Checked} records looked at");
        Assert.Null(status.Flows["to-registry"].Backfill);
    }

    [Fact]
    public async Task A_known_flow_is_not_backfilled_at_start_but_can_be_on_request()
    {
        using var folder = new TempFolder();
        await using (var first = await TestEngine.StartAsync(Yaml(withArchive: true), _time, folder: folder))
        {
            await first.PublishAsync(TestEngine.Permit("P-1", 1));
            await first.WaitForStateAsync("synced");
        }
        _archive.Records.Clear();
        await using var second = await TestEngine.StartAsync(Yaml(withArchive: true), _time, folder: folder);
        await second.PublishAsync(TestEngine.Permit("P-2", 1));
        await second.WaitForStateAsync("synced");
        var atStart = (await second.StatusAsync()).Flows["to-archive"].Backfill;

        var started = await second.Engine.BackfillAsync("to-archive", CancellationToken.None);
        var unknown = await second.Engine.BackfillAsync("nope", CancellationToken.None);
        await Eventually.WaitAsync(async () => (await second.StatusAsync()).Flows["to-archive"].Backfill?.FinishedAt is not null, "backfill finished");

        Assert.Null(atStart);
        Assert.True(started);
        Assert.False(unknown);
        // Records the flow already has a delivery for are its own deliveries' business: a backfill sends the rest.
        Assert.Equal(["P-2"], _archive.Records.Keys);
        Assert.Equal(0L, (await second.StatusAsync()).Flows["to-archive"].Backfill!.Sent);
    }
}
