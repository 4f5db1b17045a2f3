using Lockstep.Deliveries;
using Lockstep.Events;
using Lockstep.Journal;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Journal;

/// <summary>What every backend's dead letters must do: list, replay, drop.</summary>
public abstract class DeadLettersContract<TBackend> : JournalFixture<TBackend> where TBackend : IJournalBackend, new()
{
    [Fact]
    public async Task Dead_letter_can_be_listed_replayed_and_dropped()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1), TestEngine.Permit("P-2", 1));
        var claimed = await ClaimAsync();
        foreach (var d in claimed) await CompleteAsync(d, CompletionKind.Dead, error: "HTTP 400 Bad Request");
        var dead = await Journal.DeadLetters.ListAsync("to-registry", null, 100, CancellationToken.None);

        var replayed = await Journal.DeadLetters.ReplayAsync(null, [dead[0].Id], Time.GetUtcNow(), CancellationToken.None);
        var dropped = await Journal.DeadLetters.DropAsync(dead[1].Id, CancellationToken.None);

        Assert.Equal(2, dead.Count);
        Assert.Equal("HTTP 400 Bad Request", dead[0].Error);
        Assert.Equal(1, replayed);
        Assert.True(dropped);
        Assert.Equal(dead[0].Key, Assert.Single(await ClaimAsync()).Key);
        Assert.Empty(await Journal.DeadLetters.ListAsync(null, null, 100, CancellationToken.None));
    }

    [Fact]
    public async Task Replay_by_flow_touches_only_that_flow_and_dropping_an_unknown_id_is_false()
    {
        await AppendAsync(TestEngine.Permit("P-1", 1));
        foreach (var d in (await ClaimAsync("registry")).Concat(await ClaimAsync("warehouse")))
            await CompleteAsync(d, CompletionKind.Dead, error: "HTTP 400");
        var dead = await Journal.DeadLetters.ListAsync(null, null, 100, CancellationToken.None);

        var replayed = await Journal.DeadLetters.ReplayAsync("to-warehouse", null, Time.GetUtcNow(), CancellationToken.None);
        var dropped = await Journal.DeadLetters.DropAsync(dead.Max(d => d.Id) + 1000, CancellationToken.None);

        Assert.Equal(["to-registry", "to-warehouse"], dead.Select(d => d.Flow).Order());
        Assert.Equal(1, replayed);
        Assert.False(dropped);
        Assert.Empty(await ClaimAsync("registry"));
        Assert.Contains(await ClaimAsync("warehouse"), d => d.Flow == "to-warehouse" && d.Key == "P-1");
        Assert.Equal("to-registry", Assert.Single(await Journal.DeadLetters.ListAsync(null, null, 100, CancellationToken.None)).Flow);
    }
}
