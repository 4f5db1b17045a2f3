using Lockstep.Tests.Support;
using static Lockstep.Tests.Connectors.Sql.SqlTestKit;

namespace Lockstep.Tests.Connectors.Sql;

/// <summary>
/// <c>sql-poll</c> sources end to end: rows polled from one database become events delivered into the other, and the
/// cursor, committed in the journal, makes a restarted engine read only what changed.
/// </summary>
[Collection("PostgreSQL")]
public sealed class SqlPollSourceTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Warehouse => Path.Combine(_folder.Path, "warehouse.db");

    [Fact]
    public async Task Polls_a_PostgreSQL_table_by_timestamp_in_pages_and_resumes_from_its_cursor()
    {
        var source = Table("clerk");
        await PgAsync($"CREATE TABLE {source} (id text PRIMARY KEY, status text, updated_at timestamptz NOT NULL, rev bigint NOT NULL)");
        await PgAsync($"""
            INSERT INTO {source} VALUES ('P-1', 'approved', '2026-11-23T08:00:00Z', 1), ('P-2', 'approved', '2026-11-23T08:00:05.123456Z', 1),
              ('P-3', 'approved', '2026-11-23T08:00:05.123456Z', 1), ('P-4', 'approved', '2026-11-23T08:00:05.123456Z', 1)
            """);
        await SqliteAsync(Warehouse, "CREATE TABLE permits (id TEXT PRIMARY KEY, status TEXT, updated_at TEXT, version INTEGER)");
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              gis: { type: postgres, connection: "${GIS_DB}" }
              warehouse: { type: sqlite, path: warehouse.db }
            sources:
              clerk:
                type: sql-poll
                from: gis
                table: {{source}}
                cursor: updated_at
                key: id
                version: rev
                entity: permit
                interval: 1h
                pageSize: 2
            flows:
              to-warehouse:
                entity: permit
                to: warehouse
                table: permits
                key: id
                map: (p) => ({ status: p.status, updated_at: p.updated_at })
            """;

        var engine = await TestEngine.StartAsync(yaml, Clock.Fake(), Env, _folder);
        await Eventually.WaitAsync(() => AcceptedAsync(engine, "clerk", 4), "four rows in");
        await engine.WaitForStateAsync("synced");
        await engine.Engine.DisposeAsync();
        await PgAsync($"UPDATE {source} SET status = 'revoked', rev = 2, updated_at = '2026-11-23T09:00:00Z' WHERE id = 'P-2'");
        await PgAsync($"INSERT INTO {source} VALUES ('P-5', 'approved', '2026-11-23T09:00:00Z', 1)");
        engine = await TestEngine.StartAsync(yaml, Clock.Fake(), Env, _folder);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources!["clerk"].LastRunAt is not null, "the poll after the restart");
        await engine.WaitForStateAsync("synced");
        var status = (await engine.StatusAsync()).Sources!["clerk"];
        await engine.Engine.DisposeAsync();

        Assert.Null(status.LastError);
        Assert.Equal(2, status.Accepted);
        Assert.Equal("2026-11-23T09:00:00Z", status.Cursor);
        var rows = await SqliteRowsAsync(Warehouse, "SELECT id, status, updated_at, version FROM permits ORDER BY id");
        Assert.Equal(5, rows.Count);
        Assert.Equal(["P-2", "revoked", "2026-11-23T09:00:00Z", 2L], rows[1]);
        Assert.Equal(["P-3", "approved", "2026-11-23T08:00:05.123456Z", 1L], rows[2]);
    }

    [Fact]
    public async Task Polls_a_SQLite_query_by_an_increasing_column_into_PostgreSQL_and_resumes()
    {
        var target = Table("events");
        await PgAsync($"CREATE TABLE {target} (id bigint PRIMARY KEY, name text, version bigint)");
        await SqliteAsync(Warehouse, "CREATE TABLE src (id INTEGER PRIMARY KEY, name TEXT, seq INTEGER NOT NULL)");
        await SqliteAsync(Warehouse, string.Join(';', Enumerable.Range(1, 7).Select(i => $"INSERT INTO src VALUES ({i}, 'n{i}', {i * 10})")));
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              gis: { type: postgres, connection: "${GIS_DB}" }
              warehouse: { type: sqlite, path: warehouse.db }
            sources:
              legacy:
                type: sql-poll
                from: warehouse
                query: SELECT id, name, seq FROM src WHERE seq >= {cursor} AND name IS NOT NULL
                cursor: seq
                key: id
                version: seq
                entity: item
                interval: 30m
                pageSize: 3
            flows:
              to-pg:
                entity: item
                to: gis
                table: {{target}}
                key: id
                map: (r) => ({ id: r.id, name: r.name })
            """;

        var engine = await TestEngine.StartAsync(yaml, Clock.Fake(), Env, _folder);
        await Eventually.WaitAsync(() => AcceptedAsync(engine, "legacy", 7), "seven rows in");
        await engine.WaitForStateAsync("synced");
        await engine.Engine.DisposeAsync();
        await SqliteAsync(Warehouse, "UPDATE src SET name = 'renamed', seq = 80 WHERE id = 3; INSERT INTO src VALUES (9, 'n9', 90)");
        engine = await TestEngine.StartAsync(yaml, Clock.Fake(), Env, _folder);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources!["legacy"].LastRunAt is not null, "the poll after the restart");
        await engine.WaitForStateAsync("synced");
        var status = (await engine.StatusAsync()).Sources!["legacy"];
        await engine.Engine.DisposeAsync();

        Assert.Null(status.LastError);
        Assert.Equal(2, status.Accepted);
        Assert.Equal("90", status.Cursor);
        var rows = await PgRowsAsync($"SELECT id, name, version FROM {target} ORDER BY id");
        Assert.Equal(8, rows.Count);
        Assert.Equal([3L, "renamed", 80L], rows[2]);
        Assert.Equal([9L, "n9", 90L], rows[7]);
    }

    private static async Task<bool> AcceptedAsync(TestEngine engine, string source, int count)
    {
        var status = (await engine.StatusAsync()).Sources![source];
        Assert.True(status.LastError is null, status.LastError);
        return status.Accepted == count;
    }

    [Fact]
    public async Task Sql_poll_config_errors_name_the_key()
    {
        var yaml = """
            storage: sqlite:lockstep.db
            systems:
              clerk: { type: http, url: "http://127.0.0.1:9" }
              gis: { type: postgres, connection: "Host=127.0.0.1;Password=x" }
            sources:
              a: { type: sql-poll, from: clerk, table: t, cursor: c, key: id, entity: e, interval: 1m }
              b: { type: sql-poll, from: nowhere, query: "SELECT * FROM t", cursor: c, entity: e, interval: 1m }
              c: { type: sql-poll, from: gis, table: t, query: "SELECT 1 WHERE 1 >= {cursor}", key: id, entity: e }
            flows:
              f: { entity: e, to: clerk, upsert: "PUT /x/{key}" }
            """;

        var errors = Assert.Throws<Lockstep.Configuration.ConfigException>(() => TestEngine.Load(yaml, _folder.Path)).Errors;

        Assert.Contains(errors, e => e.Path == "sources.a.from" && e.Message.Contains("not a postgres, mysql or sqlite system", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "sources.b.from" && e.Message.Contains("unknown system 'nowhere'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "sources.b.query" && e.Message.Contains("{cursor}", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "sources.b.key" && e.Message.Contains("required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "sources.c" && e.Message.Contains("either 'table' or 'query'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "sources.c.cursor" && e.Message.Contains("required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "sources.c" && e.Message.Contains("'interval'", StringComparison.Ordinal));
    }
}
