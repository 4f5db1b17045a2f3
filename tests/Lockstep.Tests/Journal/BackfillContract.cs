using Lockstep.Backfills;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Journal;

/// <summary>What every backend's backfill store must do: flows seen once, records page by key, a page and its cursor in one commit.</summary>
public abstract class BackfillContract<TBackend> : JournalFixture<TBackend> where TBackend : IJournalBackend, new()
{
    [Fact]
    public async Task A_flow_is_new_once()
    {
        var first = await Journal.Backfills.MarkSeenAsync(["to-registry", "to-warehouse"], CancellationToken.None);
        await ReopenAsync();
        var second = await Journal.Backfills.MarkSeenAsync(["to-registry", "to-warehouse", "completions"], CancellationToken.None);

        Assert.Equal(["to-registry", "to-warehouse"], first);
        Assert.Equal(["completions"], second);
    }

    [Fact]
    public async Task Records_are_paged_by_key_and_a_page_s_cursor_survives_a_reopen()
    {
        await AppendAsync(TestEngine.Permit("P-3", 1), TestEngine.Permit("P-1", 1), TestEngine.Permit("P-2", 1), TestEngine.Permit("P-2", 2, op: Records.RecordOp.Delete));
        await Journal.Backfills.BeginAsync("to-registry", Time.GetUtcNow(), CancellationToken.None);
        var page = await Journal.Backfills.ListRecordsAsync(null, null, 1, CancellationToken.None);
        var rest = await Journal.Backfills.ListRecordsAsync("permit", "P-1", 10, CancellationToken.None);

        await Journal.Backfills.EnqueueAsync("to-registry", "registry", page, page[^1], page.Count, finished: false, Time.GetUtcNow(), CancellationToken.None);
        await ReopenAsync();
        var progress = Assert.Single(await Journal.Backfills.ListAsync(CancellationToken.None));

        Assert.Equal([("P-1", 1L, "permitApproved")], page.Select(r => (r.Key, r.Version, r.Type)));
        Assert.Equal(["P-3"], rest.Select(r => r.Key));
        Assert.Equal(("permit", "P-1", 1L, 0L, false), (progress.AfterEntity, progress.AfterKey, progress.Checked, progress.Sent, progress.FinishedAt is not null));
    }
}
