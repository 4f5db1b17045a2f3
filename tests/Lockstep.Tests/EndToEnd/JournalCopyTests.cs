using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Journal;
using Lockstep.Sources;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.EndToEnd;

/// <summary>
/// <c>lockstep journal copy</c>, run as the real program: a SQLite journal with pending, retrying, in-flight, dead and
/// delivered work, a cursor and an audit row moves into PostgreSQL, which then carries on as if it had been there.
/// </summary>
public sealed class JournalCopyTests
{
    private const string Flows = """
        systems:
          registry: { type: http, url: "http://127.0.0.1:1" }
        flows:
          to-registry: { on: [permitApproved], to: registry, upsert: "PUT /r/{key}" }
        delivery: { completionEvents: true }   # completion events in the journal, to be copied too
        """;

    [Fact]
    public async Task A_stopped_sqlite_journal_moves_into_postgres_with_its_schedule_dead_letters_cursors_and_history()
    {
        using var folder = new TempFolder();
        var time = Clock.Fake();
        var sqliteConfig = TestEngine.Load($"storage: sqlite:journal.db\n{Flows}", folder.Path);
        var retryAt = time.GetUtcNow().AddMinutes(5);
        await using (var sqlite = new Storage.Sqlite.SqliteJournalProvider().Create(sqliteConfig, time))
        {
            await sqlite.OpenAsync(CancellationToken.None);
            await sqlite.Cursors.AppendAsync([TestEngine.Permit("P-1", 1, id: "clerk:P-1:1"), TestEngine.Permit("P-2", 1, id: "clerk:P-2:1"),
                TestEngine.Permit("P-3", 1, id: "clerk:P-3:1"), TestEngine.Permit("P-4", 1, id: "clerk:P-4:1")], "clerk", new SourcePosition("c-41", null), CancellationToken.None);
            var claimed = (await sqlite.Queue.ClaimDueAsync([new ClaimQuota("registry", 3)], time.GetUtcNow(), CancellationToken.None)).OrderBy(d => d.Key).ToList();
            await sqlite.Queue.CompleteAsync([
                Outcome(claimed[0], CompletionKind.Delivered, time.GetUtcNow(), null),
                Outcome(claimed[1], CompletionKind.Retry, retryAt, "HTTP 503"),
                Outcome(claimed[2], CompletionKind.Dead, time.GetUtcNow(), "HTTP 422"),
            ], CancellationToken.None);
            await sqlite.Queries.AuditAsync("ops", "replay", "dead letter 9", null, time.GetUtcNow(), CancellationToken.None);
            await sqlite.Control.PauseAsync(new Lockstep.Control.Pause(Lockstep.Control.PauseKind.System, "registry", "ops", time.GetUtcNow(), "maintenance"), CancellationToken.None);
            await sqlite.Identities.SaveIdAsync("to-registry", "permit", "P-1", "crm-991", time.GetUtcNow(), CancellationToken.None);
            // P-4 stays claimed: in flight when the process stopped.
            Assert.Equal("P-4", Assert.Single(await sqlite.Queue.ClaimDueAsync([new ClaimQuota("registry", 10)], time.GetUtcNow(), CancellationToken.None)).Key);
        }
        var schema = "copy_" + Guid.NewGuid().ToString("N");
        var environment = new Dictionary<string, string> { ["TARGET_DB"] = $"{TestServers.Postgres};Schema={schema}" };

        var (code, output) = await LockstepProcess.RunAsync(["journal", "copy", "--from", "sqlite:" + Path.Combine(folder.Path, "journal.db"), "--to", "postgres:env:TARGET_DB"], environment);
        var (again, againOutput) = await LockstepProcess.RunAsync(["journal", "copy", "--from", "sqlite:" + Path.Combine(folder.Path, "journal.db"), "--to", "postgres:env:TARGET_DB"], environment);

        Assert.True(code == 0, output);
        Assert.Contains("events: 6", output); // four permits, a syncCompleted and a syncFailed
        Assert.Contains("deliveries: 4", output);
        Assert.DoesNotContain("Password=", output);
        Assert.Equal(1, again);
        Assert.Contains("is not empty", againOutput);
        var pgConfig = TestEngine.Load($"storage: postgres:{TestServers.Postgres};Schema={schema}\n{Flows}", folder.Path);
        await using var pg = new Storage.Postgres.PostgresJournalProvider().Create(pgConfig, time);
        await pg.OpenAsync(CancellationToken.None);
        var due = await pg.Queue.ClaimDueAsync([new ClaimQuota("registry", 10)], time.GetUtcNow(), CancellationToken.None);
        var next = await pg.Queue.NextDueAsync(["registry"], CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(5));
        var retried = Assert.Single(await pg.Queue.ClaimDueAsync([new ClaimQuota("registry", 10)], time.GetUtcNow(), CancellationToken.None));
        var dead = Assert.Single(await pg.DeadLetters.ListAsync(null, null, 10, CancellationToken.None));
        var position = await pg.Cursors.ReadPositionAsync("clerk", CancellationToken.None);
        var history = await pg.Queries.RecordHistoryAsync("permit", "P-1", CancellationToken.None);
        var audit = Assert.Single(await pg.Queries.AuditLogAsync(10, CancellationToken.None));
        var counters = Assert.Single(await pg.Queries.CountersAsync(CancellationToken.None));
        var pause = Assert.Single(await pg.Control.ListPausesAsync(CancellationToken.None));
        var targetId = await pg.Identities.FindIdAsync("to-registry", "permit", "P-1", CancellationToken.None);
        await pg.Intake.AppendAsync([TestEngine.Permit("P-5", 1)], CancellationToken.None);
        var fresh = Assert.Single(await pg.Queue.ClaimDueAsync([new ClaimQuota("registry", 10)], time.GetUtcNow(), CancellationToken.None));

        Assert.Equal("P-4", Assert.Single(due).Key);
        Assert.Equal(retryAt, next);
        Assert.Equal(("P-2", 2), (retried.Key, retried.Attempt));
        Assert.Equal(("P-3", "HTTP 422"), (dead.Key, dead.Error));
        Assert.Equal(new SourcePosition("c-41", null), position);
        Assert.Equal("delivered", OutcomeOf(history));
        Assert.Equal(("ops", "replay"), (audit.Actor, audit.Action));
        Assert.Equal((1L, 1L), (counters.Delivered, counters.Dead));
        Assert.Equal(("registry", "ops", "maintenance"), (pause.Name, pause.By, pause.Reason));
        Assert.Equal("crm-991", targetId);
        Assert.Equal("P-5", fresh.Key);
        Assert.True(fresh.Id > due[0].Id, "new rows are numbered after the copied ones");
    }

    private static string OutcomeOf(RecordHistory history) => Assert.Single(history.Flows["to-registry"]).Outcome;

    private static DeliveryCompletion Outcome(Delivery d, CompletionKind kind, DateTimeOffset due, string? error) =>
        new(d, kind, Clock.T0, TimeSpan.FromMilliseconds(2), kind == CompletionKind.Delivered ? 200 : 503, error, due);
}
