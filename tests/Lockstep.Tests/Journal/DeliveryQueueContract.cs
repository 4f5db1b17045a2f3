using Lockstep.Deliveries;
using Lockstep.Events;
using Lockstep.Journal;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Journal;

/// <summary>What every backend's delivery queue must do: one version in flight per record, retries, crash recovery, completion events.</summary>
public abstract class DeliveryQueueContract<TBackend> : JournalFixture<TBackend> where TBackend : IJournalBackend, new()
{
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
        var next = await Journal.Queue.NextDueAsync(["registry"], CancellationToken.None);
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
    public async Task A_process_that_lost_the_lease_commits_nothing_and_the_new_owner_takes_its_work()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1));
        var claimed = Assert.Single(await ClaimAsync());
        await using var other = await OpenAnotherAsync();

        var staleOutcome = await Assert.ThrowsAsync<JournalFencedException>(() => CompleteAsync(claimed, CompletionKind.Delivered));
        await Assert.ThrowsAsync<JournalFencedException>(() => ClaimAsync());
        var taken = Assert.Single(await other.Queue.ClaimDueAsync([new ClaimQuota("registry", 10)], Time.GetUtcNow(), CancellationToken.None));
        await other.Queue.CompleteAsync([new DeliveryCompletion(taken, CompletionKind.Delivered, Time.GetUtcNow(), TimeSpan.FromMilliseconds(2), 200, null, Time.GetUtcNow())], CancellationToken.None);
        var view = await other.Queries.GetEventAsync("permit:P-1:1", CancellationToken.None);

        Assert.Equal(("P-1", 1L), (taken.Key, taken.Version));
        Assert.True(taken.Epoch > claimed.Epoch, $"epoch {taken.Epoch} after {claimed.Epoch}");
        Assert.Equal(taken.Epoch, staleOutcome.CurrentEpoch);
        Assert.Equal("delivered", Assert.Single(view!.Flows, f => f.Flow == "to-registry").State);
        Assert.Single(Assert.Single(view.Flows, f => f.Flow == "to-registry").Attempts); // the stale outcome left no attempt
    }
}
