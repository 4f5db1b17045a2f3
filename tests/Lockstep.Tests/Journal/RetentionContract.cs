using Lockstep.Deliveries;
using Lockstep.Journal;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Journal;

/// <summary>What every backend's retention must do: delete old history, never what is current, pending or dead.</summary>
public abstract class RetentionContract<TBackend> : JournalFixture<TBackend> where TBackend : IJournalBackend, new()
{
    [Fact]
    public async Task A_prune_removes_superseded_delivered_events_and_old_audit_rows_only()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1, type: "permitFiled"), TestEngine.Permit("P-2", 1, type: "permitFiled"));
        foreach (var d in await ClaimAsync("warehouse")) await CompleteAsync(d, CompletionKind.Delivered);
        await AppendAsync(TestEngine.Permit("P-1", 2, type: "permitFiled"));
        await Journal.Queries.AuditAsync("ops", "replay", null, null, Time.GetUtcNow(), CancellationToken.None);
        Time.Advance(TimeSpan.FromDays(10));

        var pruned = await Journal.Retention.PruneAsync(
            new RetentionPolicy(TimeSpan.FromDays(7), null, TimeSpan.FromDays(7), TimeSpan.FromHours(1)), Time.GetUtcNow(), CancellationToken.None);

        // P-1 v1 is delivered and superseded: gone. P-1 v2 is pending, P-2 v1 is current: both kept.
        Assert.Equal((1L, 0L, 1L), (pruned.Events, pruned.Attempts, pruned.Audit));
        Assert.Null(await Journal.Queries.GetEventAsync("permit:P-1:1", CancellationToken.None));
        Assert.NotNull(await Journal.Queries.GetEventAsync("permit:P-1:2", CancellationToken.None));
        Assert.NotNull(await Journal.Queries.GetEventAsync("permit:P-2:1", CancellationToken.None));
        Assert.Contains(await ClaimAsync("warehouse"), d => (d.Key, d.Version) == ("P-1", 2));
        Assert.Empty(await Journal.Queries.AuditLogAsync(10, CancellationToken.None));
    }
}
