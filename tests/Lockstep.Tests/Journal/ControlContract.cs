using Lockstep.Control;
using Lockstep.Deliveries;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Journal;

/// <summary>What every backend's control store must do: pauses that survive a reopen, and dropping a removed flow's work.</summary>
public abstract class ControlContract<TBackend> : JournalFixture<TBackend> where TBackend : IJournalBackend, new()
{
    [Fact]
    public async Task A_pause_survives_a_reopen_until_it_is_resumed()
    {
        var since = Time.GetUtcNow();

        var paused = await Journal.Control.PauseAsync(new Pause(PauseKind.Flow, "to-registry", "ops", since, "partner maintenance"), CancellationToken.None);
        var again = await Journal.Control.PauseAsync(new Pause(PauseKind.Flow, "to-registry", "someone else", since.AddMinutes(1), null), CancellationToken.None);
        await Journal.Control.PauseAsync(new Pause(PauseKind.System, "warehouse", "ops", since, null), CancellationToken.None);
        await ReopenAsync();
        var afterReopen = await Journal.Control.ListPausesAsync(CancellationToken.None);
        var resumed = await Journal.Control.ResumeAsync(PauseKind.Flow, "to-registry", CancellationToken.None);
        var resumedTwice = await Journal.Control.ResumeAsync(PauseKind.Flow, "to-registry", CancellationToken.None);
        var left = await Journal.Control.ListPausesAsync(CancellationToken.None);

        Assert.True(paused);
        Assert.False(again);
        Assert.Equal(
            [new Pause(PauseKind.Flow, "to-registry", "ops", since, "partner maintenance"), new Pause(PauseKind.System, "warehouse", "ops", since, null)],
            afterReopen.OrderBy(p => p.Kind));
        Assert.True(resumed);
        Assert.False(resumedTwice);
        Assert.Equal([new Pause(PauseKind.System, "warehouse", "ops", since, null)], left);
    }

    [Fact]
    public async Task The_same_name_is_paused_apart_per_kind()
    {
        await Journal.Control.PauseAsync(new Pause(PauseKind.Source, "clerk", "ops", Time.GetUtcNow(), null), CancellationToken.None);

        var flowResumed = await Journal.Control.ResumeAsync(PauseKind.Flow, "clerk", CancellationToken.None);
        var pauses = await Journal.Control.ListPausesAsync(CancellationToken.None);

        Assert.False(flowResumed);
        Assert.Equal(PauseKind.Source, Assert.Single(pauses).Kind);
    }

    [Fact]
    public async Task A_removed_flow_s_undelivered_work_is_listed_and_kept()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1), TestEngine.Permit("P-2", 1));
        var claimed = (await ClaimAsync()).OrderBy(d => d.Key).ToList();
        await CompleteAsync(claimed[0], CompletionKind.Dead, error: "HTTP 400");

        await ReopenWithAsync("""
            systems:
              warehouse: { type: http, url: "http://127.0.0.1:2" }
            flows:
              to-warehouse: { entity: permit, to: warehouse, upsert: "PUT /w/{key}" }
            """);
        var removed = await Journal.Control.ListRemovedFlowsAsync(CancellationToken.None);

        Assert.Contains(new Status.RemovedFlow("to-registry", "registry", 1, 1), removed);
        Assert.DoesNotContain(removed, r => r.Flow == "to-warehouse");
    }

    [Fact]
    public async Task Dropping_a_flow_s_work_removes_its_undelivered_records_and_dead_letters_only()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1), TestEngine.Permit("P-2", 1), TestEngine.Permit("P-3", 1));
        var claimed = (await ClaimAsync()).OrderBy(d => d.Key).ToList();
        await CompleteAsync(claimed[0], CompletionKind.Delivered);
        await CompleteAsync(claimed[1], CompletionKind.Dead, error: "HTTP 400");
        await CompleteAsync(claimed[2], CompletionKind.Retry, Time.GetUtcNow().AddMinutes(5), "HTTP 503");

        var removedBefore = await Journal.Control.ListRemovedFlowsAsync(CancellationToken.None);
        var dropped = await Journal.Control.DropFlowWorkAsync("to-registry", CancellationToken.None);
        Time.Advance(TimeSpan.FromMinutes(5));
        var due = await ClaimAsync();
        var dead = await Journal.DeadLetters.ListAsync("to-registry", null, 100, CancellationToken.None);
        var warehouse = await ClaimAsync("warehouse");
        var counters = (await Journal.Queries.CountersAsync(CancellationToken.None)).Single(c => c.Flow == "to-registry");

        Assert.Empty(removedBefore); // every flow is configured
        Assert.Equal(2, dropped);
        Assert.Empty(due);
        Assert.Empty(dead);
        Assert.Equal(3, warehouse.Count(d => d.Flow == "to-warehouse"));
        Assert.Equal((0L, 0L, 0L), (counters.Pending, counters.InFlight, counters.Dead));
    }
}
