using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Events;
using Lockstep.Journal;
using Lockstep.Records;
using Lockstep.Routing;
using Lockstep.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Journal;

/// <summary>What every journal must do, whatever its backend. A backend's tests inherit this suite.</summary>
public abstract class JournalContract : IAsyncLifetime
{
    private const string Yaml = """
        storage: sqlite:journal.db
        systems:
          registry: { type: http, url: "http://127.0.0.1:1" }
          warehouse: { type: http, url: "http://127.0.0.1:2" }
        flows:
          to-registry: { on: [permitApproved, permitRevoked], to: registry, upsert: "PUT /r/{key}" }
          to-warehouse: { entity: permit, to: warehouse, upsert: "PUT /w/{key}" }
          completions: { on: [syncCompleted, syncFailed], to: warehouse, upsert: "PUT /c/{key}" }
        """;

    private readonly TempFolder _folder = new();
    private IJournal _journal = null!;

    protected FakeTimeProvider Time { get; } = Clock.Fake();

    protected LockstepConfig Config { get; private set; } = null!;

    protected abstract IJournal Create(string folder, FlowRouter router, DeliveryOptions options, TimeProvider time);

    public async Task InitializeAsync()
    {
        Config = TestEngine.Load(Yaml, _folder.Path);
        _journal = await OpenAsync();
    }

    public async Task DisposeAsync()
    {
        await _journal.DisposeAsync();
        _folder.Dispose();
    }

    private async Task<IJournal> OpenAsync()
    {
        var journal = Create(_folder.Path, new FlowRouter(Config.Flows), Config.Delivery, Time);
        await journal.OpenAsync(CancellationToken.None);
        return journal;
    }

    private async Task ReopenAsync()
    {
        await _journal.DisposeAsync();
        _journal = await OpenAsync();
    }

    private Task<IReadOnlyList<Delivery>> ClaimAsync(string system = "registry", int max = 100) =>
        _journal.Queue.ClaimDueAsync([new ClaimQuota(system, max)], Time.GetUtcNow(), CancellationToken.None).AsTask();

    private Task CompleteAsync(Delivery delivery, CompletionKind kind, DateTimeOffset? dueAt = null, string? error = null) =>
        _journal.Queue.CompleteAsync([new DeliveryCompletion(delivery, kind, Time.GetUtcNow(), TimeSpan.FromMilliseconds(3), kind == CompletionKind.Delivered ? 200 : 503, error, dueAt ?? Time.GetUtcNow())], CancellationToken.None).AsTask();

    private Task<IReadOnlyList<AppendStatus>> AppendAsync(params Event[] events) => _journal.Intake.AppendAsync(events, CancellationToken.None).AsTask();

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

    [Fact]
    public async Task One_version_per_record_is_in_flight_and_superseded_versions_are_skipped()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1));
        var first = Assert.Single(await ClaimAsync());

        await AppendAsync(TestEngine.Permit("P-1", 2), TestEngine.Permit("P-1", 3));
        Assert.Empty(await ClaimAsync());
        await CompleteAsync(first, CompletionKind.Delivered);
        var next = Assert.Single(await ClaimAsync());

        Assert.Equal(3, next.Version);
    }

    [Fact]
    public async Task Retry_waits_in_the_journal_until_due()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1));
        var first = Assert.Single(await ClaimAsync());

        await CompleteAsync(first, CompletionKind.Retry, Time.GetUtcNow().AddSeconds(30), "HTTP 503");
        var early = await ClaimAsync();
        var next = await _journal.Queue.NextDueAsync(["registry"], CancellationToken.None);
        Time.Advance(TimeSpan.FromSeconds(30));
        await ReopenAsync();
        var retried = Assert.Single(await ClaimAsync());

        Assert.Empty(early);
        Assert.Equal(Time.GetUtcNow(), next);
        Assert.Equal(2, retried.Attempt);
    }

    [Fact]
    public async Task In_flight_deliveries_are_due_again_after_a_crash()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1));
        Assert.Single(await ClaimAsync());

        await ReopenAsync();

        Assert.Equal("P-1", Assert.Single(await ClaimAsync()).Key);
    }

    [Fact]
    public async Task Dead_letter_can_be_listed_replayed_and_dropped()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1), TestEngine.Permit("P-2", 1));
        var claimed = await ClaimAsync();
        foreach (var d in claimed) await CompleteAsync(d, CompletionKind.Dead, error: "HTTP 400 Bad Request");
        var dead = await ((IDeadLetters)_journal).ListAsync("to-registry", null, 100, CancellationToken.None);

        var replayed = await ((IDeadLetters)_journal).ReplayAsync(null, [dead[0].Id], Time.GetUtcNow(), CancellationToken.None);
        var dropped = await ((IDeadLetters)_journal).DropAsync(dead[1].Id, CancellationToken.None);

        Assert.Equal(2, dead.Count);
        Assert.Equal("HTTP 400 Bad Request", dead[0].Error);
        Assert.Equal(1, replayed);
        Assert.True(dropped);
        Assert.Equal(dead[0].Key, Assert.Single(await ClaimAsync()).Key);
        Assert.Empty(await ((IDeadLetters)_journal).ListAsync(null, null, 100, CancellationToken.None));
    }

    [Fact]
    public async Task Completion_event_follows_delivery_to_every_flow()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1));
        var registry = Assert.Single(await ClaimAsync("registry"));
        var warehouse = Assert.Single(await ClaimAsync("warehouse"));

        await CompleteAsync(registry, CompletionKind.Delivered);
        var before = await ClaimAsync("warehouse");
        await CompleteAsync(warehouse, CompletionKind.Delivered);
        var completion = Assert.Single(await ClaimAsync("warehouse"));

        Assert.Empty(before);
        Assert.Equal(("syncCompleted", "sync", "permit:P-1", 1L), (completion.EventType, completion.Entity, completion.Key, completion.Version));
        Assert.Contains("\"eventId\":\"permit:P-1:1\"", completion.Data);
        Assert.Contains("\"flows\":[\"to-registry\",\"to-warehouse\"]", completion.Data);
    }

    [Fact]
    public async Task Dead_letter_produces_a_sync_failed_event_naming_the_flow()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1, type: "permitFiled"));
        var warehouse = Assert.Single(await ClaimAsync("warehouse"));

        await CompleteAsync(warehouse, CompletionKind.Dead, error: "HTTP 422");
        var failed = Assert.Single(await ClaimAsync("warehouse"));

        Assert.Equal("syncFailed", failed.EventType);
        Assert.Contains("\"flow\":\"to-warehouse\"", failed.Data);
        Assert.Contains("\"error\":\"HTTP 422\"", failed.Data);
    }

    [Fact]
    public async Task Counters_show_pending_in_flight_delivered_and_dead()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1), TestEngine.Permit("P-2", 1), TestEngine.Permit("P-3", 1));
        var claimed = await ClaimAsync(max: 2);
        await CompleteAsync(claimed[0], CompletionKind.Delivered);

        var counters = (await _journal.Queries.CountersAsync(CancellationToken.None)).Single(c => c.Flow == "to-registry");

        Assert.Equal((1L, 1L, 1L, 0L), (counters.Pending, counters.InFlight, counters.Delivered, counters.Dead));
        Assert.NotNull(counters.LastSuccessAt);
    }
}

public sealed class SqliteJournalTests : JournalContract
{
    protected override IJournal Create(string folder, FlowRouter router, DeliveryOptions options, TimeProvider time) =>
        new Storage.Sqlite.SqliteJournal(Path.Combine(folder, "journal.db"), router, options, time);
}
