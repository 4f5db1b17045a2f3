using Lockstep.Configuration;
using Lockstep.Journal;
using Lockstep.Storage.Postgres;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Journal;

/// <summary>What the PostgreSQL journal does beyond the role contracts: its location, the work wake-up, migrations under a lock.</summary>
public sealed class PostgresJournalBehaviourTests
{
    private const string Flows = """
        systems:
          registry: { type: http, url: "http://127.0.0.1:1" }
        flows:
          to-registry: { on: [permitApproved], to: registry, upsert: "PUT /r/{key}" }
        """;

    [Fact]
    public void A_url_and_a_connection_string_both_name_the_server_and_the_schema()
    {
        var url = PostgresLocation.Parse("postgres:postgres://ops:p%40ss@db.example:6543/journal?schema=sync_a&sslmode=require");
        var keywords = PostgresLocation.Parse("postgres:Host=db.example;Port=6543;Username=ops;Password=secret;Database=journal");

        Assert.Equal("sync_a", url.Schema);
        Assert.Contains("Host=db.example", url.ConnectionString);
        Assert.Contains("Port=6543", url.ConnectionString);
        Assert.Contains("Password=p@ss", url.ConnectionString);
        Assert.Contains("Database=journal", url.ConnectionString);
        Assert.Contains("SSL Mode=Require", url.ConnectionString);
        Assert.Equal(PostgresLocation.DefaultSchema, keywords.Schema);
        Assert.DoesNotContain("Schema", keywords.ConnectionString);
    }

    [Fact]
    public void A_bad_schema_or_connection_string_is_refused_without_repeating_the_password()
    {
        var schema = Assert.Throws<InvalidOperationException>(() => PostgresLocation.Parse("postgres:Host=db;Password=hunter2;Schema=Drop Table"));
        var keyword = Assert.Throws<InvalidOperationException>(() => PostgresLocation.Parse("postgres:Host=db;Password=hunter2;Bogus Key=1"));

        Assert.Contains("schema 'Drop Table'", schema.Message);
        Assert.Contains("not valid", keyword.Message);
        Assert.DoesNotContain("hunter2", schema.Message + keyword.Message);
    }

    [Fact]
    public void Postgres_storage_is_accepted_by_the_config_and_an_empty_one_is_an_error()
    {
        var config = TestEngine.Load($"storage: postgres:Host=db;Password=hunter2\n{Flows}", "/tmp");
        var error = Assert.Throws<ConfigException>(() => TestEngine.Load($"storage: \"postgres:\"\n{Flows}", "/tmp"));

        Assert.StartsWith("postgres:", config.Storage);
        Assert.Contains(error.Errors, e => e.Path == "storage" && e.Message.Contains("needs a connection string"));
    }

    [Fact]
    public async Task Work_added_by_another_process_wakes_the_watcher_at_once()
    {
        var config = Config();
        var time = Clock.Fake();
        await using var watcher = new PostgresJournalProvider().Create(config, time);
        await watcher.OpenAsync(CancellationToken.None);
        var wakes = 0;
        var woken = new SemaphoreSlim(0);
        watcher.WatchWork(() =>
        {
            Interlocked.Increment(ref wakes);
            woken.Release();
        });
        // The listener wakes once when it starts listening (a notification may have been missed before).
        Assert.True(await woken.WaitAsync(TimeSpan.FromSeconds(30)), "listening");
        await using var writer = new PostgresJournalProvider().Create(config, time);
        await writer.OpenAsync(CancellationToken.None);

        await writer.Intake.AppendAsync([TestEngine.Permit("P-1", 1)], CancellationToken.None);

        Assert.True(await woken.WaitAsync(TimeSpan.FromSeconds(30)), "woken by the other process's commit");
        Assert.True(wakes >= 2);
    }

    [Fact]
    public async Task Nodes_starting_together_migrate_once_and_each_takes_the_next_epoch()
    {
        var config = Config();
        var journals = Enumerable.Range(0, 4).Select(_ => new PostgresJournalProvider().Create(config, Clock.Fake())).ToList();

        await Task.WhenAll(journals.Select(j => j.OpenAsync(CancellationToken.None).AsTask()));
        await journals[0].Intake.AppendAsync([TestEngine.Permit("P-1", 1)], CancellationToken.None);
        var fenced = 0;
        foreach (var journal in journals)
        {
            try
            {
                await journal.Queue.ClaimDueAsync([new ClaimQuota("registry", 10)], Clock.T0, CancellationToken.None);
            }
            catch (JournalFencedException)
            {
                fenced++;
            }
        }
        foreach (var journal in journals) await journal.DisposeAsync();

        Assert.Equal(3, fenced);
    }

    private static LockstepConfig Config() =>
        TestEngine.Load($"storage: postgres:{TestServers.Postgres};Schema=b_{Guid.NewGuid():N}\n{Flows}", "/tmp");
}
