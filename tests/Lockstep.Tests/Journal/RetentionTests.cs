using Lockstep.Events;
using Lockstep.Records;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;

namespace Lockstep.Tests.Journal;

public sealed class RetentionTests
{
    [Fact]
    public async Task The_scheduled_prune_removes_old_history_but_never_what_is_current_pending_or_dead()
    {
        var time = Clock.Fake();
        await using var target = await PartnerServer.StartAsync(app =>
        {
            app.MapPut("/supplies/{key}", () => Results.NoContent());
            app.MapPut("/parcels/{key}", () => Results.BadRequest("no such depot"));
            app.MapPut("/crates/{key}", () => Results.StatusCode(503));
        });
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              depot: { type: http, url: "{{target.Url}}", circuit: { minimumThroughput: 1000 } }
            delivery: { completionEvents: false }
            retention: { events: 30d, attempts: 30d, audit: 365d, every: 1h }
            flows:
              supplies: { entity: supply, to: depot, upsert: "PUT /supplies/{key}" }
              parcels: { entity: parcel, to: depot, upsert: "PUT /parcels/{key}" }
              crates: { entity: crate, to: depot, upsert: "PUT /crates/{key}", retry: { maxAttempts: 1000, initialDelay: 1h, maxDelay: 1h } }
            """;
        await using var engine = await TestEngine.StartAsync(yaml, time);
        await engine.PublishAsync(Item("supply", "S-1", 1), Item("parcel", "P-1", 1), Item("crate", "C-1", 1));
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["supplies"].Delivered == 1 && (await engine.StatusAsync()).Flows["parcels"].Dead == 1,
            "S-1 v1 delivered and P-1 dead", signal: engine.Committed);
        await engine.PublishAsync(Item("supply", "S-1", 2));
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["supplies"].Delivered == 2, "S-1 v2 delivered", signal: engine.Committed);
        await engine.Engine.AuditAsync("ops", "replay", "dead letter 1", null, CancellationToken.None);
        var database = TestEngine.JournalPath(engine.Config);
        var before = await CountAsync(database, "SELECT count(*) FROM events");
        var attemptsBefore = await CountAsync(database, "SELECT count(*) FROM attempts");

        var startRuns = engine.Engine.Counters.PruneRuns;
        await Eventually.AdvanceUntilAsync(time, TimeSpan.FromDays(31),
            () => Task.FromResult(time.GetUtcNow() > Clock.T0.AddDays(30) && engine.Engine.Counters.PruneRuns > startRuns), "a retention run a month on");
        var events = await ColumnAsync(database, "SELECT id FROM events ORDER BY seq");
        var oldAttempts = await CountAsync(database, $"SELECT count(*) FROM attempts WHERE started_at < {(Clock.T0 + TimeSpan.FromDays(1)).ToUnixTimeMilliseconds()}");
        var audit = await CountAsync(database, "SELECT count(*) FROM audit");
        var runs = engine.Engine.Counters.PruneRuns;
        await Eventually.AdvanceUntilAsync(time, TimeSpan.FromDays(200), () => Task.FromResult(engine.Engine.Counters.PruneRuns > runs + 1), "a run a year on");
        var auditLater = await CountAsync(database, "SELECT count(*) FROM audit");

        Assert.Equal(4, before);
        Assert.True(attemptsBefore >= 4);
        Assert.Equal(["P-1", "C-1", "S-1:2"], events.Select(id => id.Replace("supply:", "").Replace("parcel:", "").Replace("crate:", "").Replace(":1", "")));
        Assert.Equal(0, oldAttempts);
        Assert.Equal(1, audit);
        Assert.Equal(0, auditLater);
        Assert.Equal(1, engine.Engine.Counters.PrunedEvents);
        Assert.Equal(1, (await engine.StatusAsync()).Flows["crates"].Pending + (await engine.StatusAsync()).Flows["crates"].InFlight);
        Assert.Equal(1, (await engine.StatusAsync()).Flows["parcels"].Dead);
    }

    private static Event Item(string entity, string key, long version) =>
        new($"{entity}:{key}:{version}", entity + "Changed", entity, key, version, RecordOp.Upsert, $$"""{"id":"{{key}}","rev":{{version}}}""");

    private static async Task<long> CountAsync(string path, string sql) => (long)(await QueryAsync(path, sql)).Single()!;

    private static async Task<List<string>> ColumnAsync(string path, string sql) => [.. (await QueryAsync(path, sql)).Select(v => (string)v!)];

    private static async Task<List<object?>> QueryAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<object?>();
        while (await reader.ReadAsync()) values.Add(reader.GetValue(0));
        return values;
    }
}
