using Lockstep.Connectors;
using Lockstep.Records;
using Lockstep.Tests.Support;
using Microsoft.Data.Sqlite;
using static Lockstep.Tests.Connectors.Sql.SqlTestKit;

namespace Lockstep.Tests.Connectors.Sql;

/// <summary>The sqlite connector on real SQLite files in a temp folder: the same semantics as postgres.</summary>
public sealed class SqliteConnectorTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private string Db => Path.Combine(_folder.Path, "warehouse.db");

    private static string Yaml(string extra = "", string timeout = "5s") => $$"""
        storage: sqlite:lockstep.db
        systems:
          warehouse: { type: sqlite, path: warehouse.db, timeout: {{timeout}} }
        flows:
          permits-to-warehouse:
            entity: permit
            to: warehouse
            table: permits
            key: permit_id
            map: (p) => ({ permit_id: p.id, status: p.status, active: p.status !== 'revoked', location: p.location })
        {{extra}}
        """;

    private Task CreateAsync(string extraColumns = "") =>
        SqliteAsync(Db, $"CREATE TABLE permits (permit_id TEXT PRIMARY KEY, status TEXT, active BOOLEAN, location JSON, version INTEGER{extraColumns})");

    [Fact]
    public async Task Engine_upserts_revisions_and_deletes_rows_in_a_sqlite_file()
    {
        await CreateAsync();
        await using var engine = await TestEngine.StartAsync(Yaml(), TimeProvider.System, folder: _folder);

        await engine.PublishAsync([.. Enumerable.Range(1, 5).Select(i => TestEngine.Permit($"P-{i}", 1))]);
        await engine.WaitForStateAsync("synced");
        await engine.PublishAsync(TestEngine.Permit("P-1", 2, status: "revoked"), TestEngine.Permit("P-2", 2, op: RecordOp.Delete));
        await engine.WaitForStateAsync("synced");

        var rows = await SqliteRowsAsync(Db, "SELECT permit_id, status, active, json_extract(location, '$.lat'), version FROM permits ORDER BY permit_id");
        Assert.Equal(["P-1", "revoked", 0L, 45.5, 2L], rows[0]);
        Assert.Equal(["P-3", "approved", 1L, 45.5, 1L], rows[1]);
        Assert.Equal(4, rows.Count);
    }

    [Fact]
    public async Task Retries_and_older_versions_change_nothing_and_soft_delete_keeps_the_row()
    {
        await CreateAsync(", deleted INTEGER NOT NULL DEFAULT 0");
        var (connector, flow) = Connector(Yaml().Replace("key: permit_id", "key: permit_id\n    softDelete: deleted"), _folder.Path);
        await using var _ = connector;

        var results = new[]
        {
            await connector.ApplyAsync(Delivery(flow, "P-1", 2), flow, Json("""{"status":"v2","active":true}"""), CancellationToken.None),
            await connector.ApplyAsync(Delivery(flow, "P-1", 2), flow, Json("""{"status":"v2","active":true}"""), CancellationToken.None),
            await connector.ApplyAsync(Delivery(flow, "P-1", 1), flow, Json("""{"status":"v1","active":false}"""), CancellationToken.None),
        };
        var afterRetries = await SqliteRowsAsync(Db, "SELECT status, active, version, deleted FROM permits");
        var delete = await connector.ApplyAsync(Delivery(flow, "P-1", 3, RecordOp.Delete), flow, default, CancellationToken.None);
        var read = await connector.ReadAsync(Delivery(flow, "P-1", 3), flow, CancellationToken.None);

        Assert.All(results, r => Assert.Equal(ResultKind.Success, r.Kind));
        Assert.Equal(["v2", 1L, 2L, 0L], Assert.Single(afterRetries));
        Assert.Equal(ResultKind.Success, delete.Kind);
        Assert.Equal(["v2", 3L, 1L], Assert.Single(await SqliteRowsAsync(Db, "SELECT status, version, deleted FROM permits")));
        Assert.False(read.Exists);
    }

    [Fact]
    public async Task A_locked_database_is_transient_and_a_constraint_violation_is_permanent()
    {
        await CreateAsync(", code TEXT UNIQUE");
        var (connector, flow) = Connector(Yaml(timeout: "1s"), _folder.Path);
        await using var _ = connector;
        await connector.ApplyAsync(Delivery(flow, "P-1", 1), flow, Json("""{"code":"A"}"""), CancellationToken.None);

        ConnectorResult whileLocked;
        await using (var holder = new SqliteConnection($"Data Source={Db};Pooling=false"))
        {
            await holder.OpenAsync();
            await using var begin = holder.CreateCommand();
            begin.CommandText = "BEGIN EXCLUSIVE";
            await begin.ExecuteNonQueryAsync();
            whileLocked = await connector.ApplyAsync(Delivery(flow, "P-2", 1), flow, Json("""{"code":"B"}"""), CancellationToken.None);
        }
        var afterRelease = await connector.ApplyAsync(Delivery(flow, "P-2", 1), flow, Json("""{"code":"B"}"""), CancellationToken.None);
        var duplicate = await connector.ApplyAsync(Delivery(flow, "P-3", 1), flow, Json("""{"code":"A"}"""), CancellationToken.None);

        Assert.Equal(ResultKind.Transient, whileLocked.Kind);
        Assert.Contains("locked", whileLocked.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(ResultKind.Success, afterRelease.Kind);
        Assert.Equal(ResultKind.Permanent, duplicate.Kind);
        Assert.Contains("UNIQUE constraint failed", duplicate.Error, StringComparison.Ordinal);
    }
}
