namespace Lockstep.Tests.Journal;

/// <summary>What every backend's identity map must do: one target id per (flow, entity, key), durable, replaceable, forgettable.</summary>
public abstract class IdentityContract<TBackend> : JournalFixture<TBackend> where TBackend : IJournalBackend, new()
{
    [Fact]
    public async Task A_saved_id_survives_a_reopen_and_is_kept_per_flow()
    {
        var ids = Journal.Identities;
        await ids.SaveIdAsync("to-registry", "permit", "P-1", "crm-17", Time.GetUtcNow(), CancellationToken.None);
        await ids.SaveIdAsync("to-warehouse", "permit", "P-1", "w/9", Time.GetUtcNow(), CancellationToken.None);
        await ReopenAsync();

        Assert.Equal("crm-17", await Journal.Identities.FindIdAsync("to-registry", "permit", "P-1", CancellationToken.None));
        Assert.Equal("w/9", await Journal.Identities.FindIdAsync("to-warehouse", "permit", "P-1", CancellationToken.None));
        Assert.Null(await Journal.Identities.FindIdAsync("to-registry", "permit", "P-2", CancellationToken.None));
        Assert.Null(await Journal.Identities.FindIdAsync("to-registry", "policy", "P-1", CancellationToken.None));
        Assert.Equal(new Dictionary<string, string> { ["to-registry"] = "crm-17", ["to-warehouse"] = "w/9" },
            await Journal.Identities.IdsOfRecordAsync("permit", "P-1", CancellationToken.None));
    }

    [Fact]
    public async Task A_new_id_replaces_the_old_and_a_forgotten_id_is_gone()
    {
        var ids = Journal.Identities;
        await ids.SaveIdAsync("to-registry", "permit", "P-1", "crm-17", Time.GetUtcNow(), CancellationToken.None);
        await ids.SaveIdAsync("to-registry", "permit", "P-1", "crm-18", Time.GetUtcNow(), CancellationToken.None);
        var replaced = await ids.FindIdAsync("to-registry", "permit", "P-1", CancellationToken.None);

        var forgot = await ids.ForgetIdAsync("to-registry", "permit", "P-1", CancellationToken.None);
        var again = await ids.ForgetIdAsync("to-registry", "permit", "P-1", CancellationToken.None);

        Assert.Equal("crm-18", replaced);
        Assert.True(forgot);
        Assert.False(again);
        Assert.Null(await ids.FindIdAsync("to-registry", "permit", "P-1", CancellationToken.None));
        Assert.Empty(await ids.IdsOfRecordAsync("permit", "P-1", CancellationToken.None));
    }

    [Fact]
    public async Task A_process_that_lost_the_journal_s_lease_saves_no_id()
    {
        await using var successor = await OpenAnotherAsync();

        await Assert.ThrowsAsync<Lockstep.Journal.JournalFencedException>(
            () => Journal.Identities.SaveIdAsync("to-registry", "permit", "P-1", "crm-1", Time.GetUtcNow(), CancellationToken.None).AsTask());

        Assert.Null(await successor.Identities.FindIdAsync("to-registry", "permit", "P-1", CancellationToken.None));
    }
}
