using Lockstep.Sources;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Journal;

/// <summary>What every backend's cursor store must do: a source's position moves with the events it produced, in one commit.</summary>
public abstract class CursorContract<TBackend> : JournalFixture<TBackend> where TBackend : IJournalBackend, new()
{
    [Fact]
    public async Task A_position_is_stored_with_its_events_and_survives_a_reopen()
    {
        var before = await Journal.Cursors.ReadPositionAsync("clerk", CancellationToken.None);

        var statuses = await Journal.Cursors.AppendAsync(
            [TestEngine.Permit("P-1", 1, id: "clerk:P-1:1"), TestEngine.Permit("P-2", 1, id: "clerk:P-2:1")], "clerk", new SourcePosition("2026-12-01T10:00:00Z", "page=3"), CancellationToken.None);
        await ReopenAsync();
        var after = await Journal.Cursors.ReadPositionAsync("clerk", CancellationToken.None);

        Assert.Equal(new SourcePosition(null, null), before);
        Assert.Equal(new SourcePosition("2026-12-01T10:00:00Z", "page=3"), after);
        Assert.Equal(2, statuses.Count(s => s == Events.AppendStatus.Accepted));
        Assert.Equal(2, (await ClaimAsync()).Count);
    }

    [Fact]
    public async Task Produced_records_are_the_source_s_current_upserts_in_key_order()
    {
        await Journal.Cursors.AppendAsync(
            [TestEngine.Permit("P-2", 1, id: "clerk:P-2:1"), TestEngine.Permit("P-1", 1, id: "clerk:P-1:1"), TestEngine.Permit("P-3", 1, id: "clerk:P-3:1")],
            "clerk", new SourcePosition("1", null), CancellationToken.None);
        // P-3 was changed since by someone else (a publish), and P-2 deleted: neither is the clerk's current record.
        await AppendAsync(TestEngine.Permit("P-3", 2), TestEngine.Permit("P-2", 2, op: Records.RecordOp.Delete));

        var all = await Journal.Cursors.ListProducedAsync("clerk", null, 10, CancellationToken.None);
        var afterFirst = await Journal.Cursors.ListProducedAsync("clerk", new ProducedRecord("permit", "P-0", 0), 10, CancellationToken.None);

        Assert.Equal([("P-1", 1L)], all.Select(r => (r.Key, r.Version)));
        Assert.Equal(all, afterFirst);
    }
}
