using Lockstep.Deliveries;
using Lockstep.Events;
using Lockstep.Journal;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Journal;

/// <summary>What every backend's read model must show: counters, events, record history, audit.</summary>
public abstract class ReadModelContract<TBackend> : JournalFixture<TBackend> where TBackend : IJournalBackend, new()
{
    [Fact]
    public async Task Counters_show_pending_in_flight_delivered_and_dead()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1), TestEngine.Permit("P-2", 1), TestEngine.Permit("P-3", 1));
        var claimed = await ClaimAsync(max: 2);
        await CompleteAsync(claimed[0], CompletionKind.Delivered);

        var counters = (await Journal.Queries.CountersAsync(CancellationToken.None)).Single(c => c.Flow == "to-registry");

        Assert.Equal((1L, 1L, 1L, 0L), (counters.Pending, counters.InFlight, counters.Delivered, counters.Dead));
        Assert.NotNull(counters.LastSuccessAt);
    }

    [Fact]
    public async Task An_event_shows_its_flows_and_attempts_and_the_record_history_lists_every_version()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1), TestEngine.Permit("P-1", 2, type: "permitFiled"));
        var first = Assert.Single(await ClaimAsync("registry"));
        await CompleteAsync(first, CompletionKind.Retry, Time.GetUtcNow().AddMinutes(1), "HTTP 503");

        var view = await Journal.Queries.GetEventAsync("permit:P-1:1", CancellationToken.None);
        var history = await Journal.Queries.RecordHistoryAsync("permit", "P-1", CancellationToken.None);
        var missing = await Journal.Queries.GetEventAsync("no-such-event", CancellationToken.None);

        Assert.NotNull(view);
        Assert.Equal(("permitApproved", 1L), (view.Type, view.Version));
        var registry = Assert.Single(view.Flows, f => f.Flow == "to-registry");
        var attempt = Assert.Single(registry.Attempts);
        Assert.Equal((1, 503, "HTTP 503"), (attempt.Attempt, attempt.StatusCode, attempt.Error));
        Assert.Equal([1L, 2L], history.Versions.Select(v => v.Version).Order());
        Assert.Single(history.Flows["to-registry"]);
        Assert.Null(missing);
    }

    [Fact]
    public async Task The_audit_log_keeps_who_did_what_newest_first()
    {
        await Journal.Queries.AuditAsync("ops", "replay", "to-registry", "3 dead letters", Time.GetUtcNow(), CancellationToken.None);
        Time.Advance(TimeSpan.FromSeconds(1));
        await Journal.Queries.AuditAsync("admin", "drop", "dead letter 7", null, Time.GetUtcNow(), CancellationToken.None);
        await ReopenAsync();

        var log = await Journal.Queries.AuditLogAsync(10, CancellationToken.None);

        Assert.Equal([("admin", "drop"), ("ops", "replay")], log.Select(e => (e.Actor, e.Action)));
        Assert.Equal("3 dead letters", log[1].Detail);
    }
}
