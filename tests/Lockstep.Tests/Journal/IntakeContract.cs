using Lockstep.Deliveries;
using Lockstep.Events;
using Lockstep.Journal;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Journal;

/// <summary>What every backend's intake store must do: dedupe by id, stale versions kept but not routed, routing by type and entity.</summary>
public abstract class IntakeContract<TBackend> : JournalFixture<TBackend> where TBackend : IJournalBackend, new()
{
    [Fact]
    public async Task Committed_events_survive_a_reopen()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1));

        await ReopenAsync();

        var claimed = Assert.Single(await ClaimAsync());
        Assert.Equal(("P-1", 1L, "permit:P-1:1"), (claimed.Key, claimed.Version, claimed.EventId));
        Assert.Contains("\"rev\":1", claimed.Data);
    }

    [Fact]
    public async Task Same_event_id_is_accepted_once()
    {
        var statuses = await AppendAsync(TestEngine.Permit("P-1", 1), TestEngine.Permit("P-1", 1));
        var again = await AppendAsync(TestEngine.Permit("P-1", 1));

        Assert.Equal([AppendStatus.Accepted, AppendStatus.Duplicate], statuses);
        Assert.Equal([AppendStatus.Duplicate], again);
        Assert.Single(await ClaimAsync());
    }

    [Fact]
    public async Task Older_version_than_the_newest_known_is_stale_and_not_routed()
    {
        await AppendAsync(TestEngine.Permit("P-1", 3));
        Assert.Single(await ClaimAsync());

        var statuses = await AppendAsync(TestEngine.Permit("P-1", 2));

        Assert.Equal([AppendStatus.Stale], statuses);
        Assert.Empty(await ClaimAsync());
    }

    [Fact]
    public async Task Missing_version_gets_the_next_one()
    {
        await AppendAsync(TestEngine.Permit("P-1", 4));
        await AppendAsync(TestEngine.Permit("P-1", 1) with { Id = "", Version = null });

        var claimed = Assert.Single(await ClaimAsync());

        Assert.Equal(5, claimed.Version);
        Assert.Equal("permit:P-1:5", claimed.EventId);
    }

    [Fact]
    public async Task Events_route_by_type_and_by_entity()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1), TestEngine.Permit("P-2", 1, type: "permitFiled"));

        var registry = await ClaimAsync("registry");
        var warehouse = await ClaimAsync("warehouse");

        Assert.Equal(["P-1"], registry.Select(d => d.Key));
        Assert.Equal(["P-1", "P-2"], warehouse.Select(d => d.Key).Order());
    }
}
