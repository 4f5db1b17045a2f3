using Lockstep.Deliveries;
using Lockstep.Reconciliation;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Journal;

/// <summary>What every backend's reconcile store must do: page delivered records, repair them, expedite, keep reports.</summary>
public abstract class ReconcileContract<TBackend> : JournalFixture<TBackend> where TBackend : IJournalBackend, new()
{
    [Fact]
    public async Task Delivered_records_page_by_id_and_a_repair_sends_one_again()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1), TestEngine.Permit("P-2", 1), TestEngine.Permit("P-3", 1));
        foreach (var d in await ClaimAsync()) await CompleteAsync(d, CompletionKind.Delivered);

        var first = await Journal.Reconcile.ListDeliveredAsync("to-registry", 0, 2, CancellationToken.None);
        var rest = await Journal.Reconcile.ListDeliveredAsync("to-registry", first[^1].Id, 2, CancellationToken.None);
        var found = await Journal.Reconcile.FindAsync("to-registry", ["P-2", "P-9"], CancellationToken.None);
        var repaired = await Journal.Reconcile.ScheduleRepairsAsync([found[0].Delivery.Id], 1, Time.GetUtcNow(), CancellationToken.None);
        var again = Assert.Single(await ClaimAsync());

        Assert.Equal(3, first.Count + rest.Count);
        Assert.Equal(["P-1", "P-2", "P-3"], first.Concat(rest).Select(d => d.Key).Order());
        Assert.True(Assert.Single(found).Delivered);
        Assert.Equal(1, repaired);
        Assert.Equal(("P-2", 1L), (again.Key, again.Version));
    }

    [Fact]
    public async Task Expedite_makes_waiting_retries_due_now_and_the_last_report_is_kept()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1));
        await CompleteAsync(Assert.Single(await ClaimAsync()), CompletionKind.Retry, Time.GetUtcNow().AddHours(1), "HTTP 503");
        var report = new ReconcileReport("to-registry", Time.GetUtcNow(), Time.GetUtcNow().AddSeconds(2), 10, 1, 2, 0, 3, 0,
            new Dictionary<string, IReadOnlyList<string>> { ["missing"] = ["P-1"] });

        var early = await ClaimAsync();
        var expedited = await Journal.Reconcile.ExpediteAsync("to-registry", Time.GetUtcNow(), CancellationToken.None);
        await Journal.Reconcile.SaveReportAsync(report, CancellationToken.None);
        await ReopenAsync();
        var last = await Journal.Reconcile.LastReportAsync("to-registry", CancellationToken.None);

        Assert.Empty(early);
        Assert.Equal(1, expedited);
        Assert.Equal("P-1", Assert.Single(await ClaimAsync()).Key);
        Assert.NotNull(last);
        Assert.Equal((10L, 1L, 2L, 3L), (last.Checked, last.Missing, last.Different, last.Repaired));
        Assert.Equal(["P-1"], last.Samples["missing"]);
        Assert.Null(await Journal.Reconcile.LastReportAsync("to-warehouse", CancellationToken.None));
    }
}
