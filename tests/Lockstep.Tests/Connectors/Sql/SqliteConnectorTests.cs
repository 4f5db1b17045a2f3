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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Engine_upserts_revisions_and_deletes_rows_in_a_sqlite_file(bool batched)
    {
        await CreateAsync();
        var yaml = batched ? Yaml().Replace("key: permit_id", "key: permit_id\n    batch: true\n    linger: 5ms") : Yaml();
        await using var engine = await TestEngine.StartAsync(yaml, TimeProvider.System, folder: _folder);

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

    [Fact]
    public async Task A_batch_writes_in_one_transaction_keeps_the_newest_version_and_the_order_of_deletes()
    {
        await CreateAsync(", code TEXT UNIQUE");
        var (connector, flow) = Connector(Yaml().Replace("key: permit_id", "key: permit_id\n    batch: true"), _folder.Path);
        await using var _ = connector;
        var batches = Assert.IsAssignableFrom<IBatchConnector>(connector);
        await batches.ApplyBatchAsync([new(Delivery(flow, "P-9", 5), Json("""{"status":"v5"}""")), new(Delivery(flow, "P-8", 1), Json("""{"status":"x"}"""))], flow, CancellationToken.None);
        BatchItem[] items =
        [
            .. Enumerable.Range(1, 50).Select(i => new BatchItem(Delivery(flow, $"P-{i + 100}", 1), Json($$"""{"status":"s{{i}}","active":true}"""))),
            new(Delivery(flow, "P-1", 1), Json("""{"status":"v1"}""")),
            new(Delivery(flow, "P-1", 3), Json("""{"status":"v3"}""")),
            new(Delivery(flow, "P-1", 2), Json("""{"status":"v2"}""")),
            new(Delivery(flow, "P-9", 4), Json("""{"status":"v4"}""")),
            new(Delivery(flow, "P-2", 1), Json("""{"status":"gone"}""")),
            new(Delivery(flow, "P-2", 2, RecordOp.Delete), default),
            new(Delivery(flow, "P-8", 2, RecordOp.Delete), default),
        ];

        var first = await batches.ApplyBatchAsync(items, flow, CancellationToken.None);
        var retry = await batches.ApplyBatchAsync(items, flow, CancellationToken.None);

        Assert.All(first.Concat(retry), r => Assert.Equal(ResultKind.Success, r.Kind));
        var rows = await SqliteRowsAsync(Db, "SELECT permit_id, status, version FROM permits WHERE permit_id NOT LIKE 'P-1__' ORDER BY permit_id");
        Assert.Equal([["P-1", "v3", 3L], ["P-9", "v5", 5L]], rows);
        Assert.Equal(50L, (await SqliteRowsAsync(Db, "SELECT count(*) FROM permits WHERE permit_id LIKE 'P-1__' AND active = 1"))[0][0]);
    }

    [Fact]
    public async Task A_bad_row_in_a_batch_fails_alone_and_a_batch_over_the_parameter_limit_still_lands()
    {
        await CreateAsync(", code TEXT UNIQUE");
        var (connector, flow) = Connector(Yaml().Replace("key: permit_id", "key: permit_id\n    batch: true"), _folder.Path);
        await using var _ = connector;
        var batches = Assert.IsAssignableFrom<IBatchConnector>(connector);
        await connector.ApplyAsync(Delivery(flow, "P-0", 1), flow, Json("""{"code":"taken"}"""), CancellationToken.None);
        var items = Enumerable.Range(1, 8).Select(i => new BatchItem(Delivery(flow, $"P-{i}", 1), Json($$"""{"code":"c{{i}}"}"""))).ToList();
        items[5] = new BatchItem(Delivery(flow, "P-6", 1), Json("""{"code":"taken"}"""));
        // permit_id, status, version: 3 parameters a row, so 11,000 rows need 33,000 > 32,766.
        var many = Enumerable.Range(1, 11_000).Select(i => new BatchItem(Delivery(flow, $"M-{i}", 1), Json("""{"status":"s"}"""))).ToList();

        var results = await batches.ApplyBatchAsync(items, flow, CancellationToken.None);
        var large = await batches.ApplyBatchAsync(many, flow, CancellationToken.None);

        Assert.Equal(ResultKind.Permanent, results[5].Kind);
        Assert.Contains("UNIQUE constraint failed", results[5].Error, StringComparison.Ordinal);
        Assert.Equal(7, results.Count(r => r.Kind == ResultKind.Success));
        Assert.Equal(8L, (await SqliteRowsAsync(Db, "SELECT count(*) FROM permits WHERE permit_id LIKE 'P-%'"))[0][0]);
        Assert.All(large, r => Assert.Equal(ResultKind.Success, r.Kind));
        Assert.Equal(11_000L, (await SqliteRowsAsync(Db, "SELECT count(*) FROM permits WHERE permit_id LIKE 'M-%'"))[0][0]);
    }

    [Fact]
    public async Task A_composite_key_with_keySeparator_upserts_reads_and_deletes_by_the_record_key()
    {
        await SqliteAsync(Db, "CREATE TABLE units (region TEXT, code TEXT, name TEXT, version INTEGER, PRIMARY KEY (region, code))");
        var yaml = Yaml().Replace("table: permits", "table: units").Replace("key: permit_id", "key: [region, code]\n    keySeparator: \"/\"");
        var (connector, flow) = Connector(yaml, _folder.Path);
        await using var _ = connector;

        var fromKey = await connector.ApplyAsync(Delivery(flow, "north/7", 1), flow, Json("""{"name":"a"}"""), CancellationToken.None);
        var slashInLast = await connector.ApplyAsync(Delivery(flow, "south/8/b", 1), flow, Json("""{"region":"south","code":"8/b","name":"b"}"""), CancellationToken.None);
        var numberAsText = await connector.ApplyAsync(Delivery(flow, "east/9", 1), flow, Json("""{"region":"east","code":9,"name":"c"}"""), CancellationToken.None);
        var disagrees = await connector.ApplyAsync(Delivery(flow, "west/1", 1), flow, Json("""{"code":"2","name":"d"}"""), CancellationToken.None);
        var read = await connector.ReadAsync(Delivery(flow, "south/8/b", 1), flow, CancellationToken.None);
        var delete = await connector.ApplyAsync(Delivery(flow, "north/7", 2, RecordOp.Delete), flow, default, CancellationToken.None);
        var batch = await Assert.IsAssignableFrom<IBatchConnector>(connector).ApplyBatchAsync(
            [new(Delivery(flow, "east/9", 3, RecordOp.Delete), default), new(Delivery(flow, "west/5", 1), Json("""{"name":"e"}"""))], flow, CancellationToken.None);

        Assert.All([fromKey, slashInLast, numberAsText, delete, .. batch], r => Assert.Equal(ResultKind.Success, r.Kind));
        Assert.Equal(ResultKind.Permanent, disagrees.Kind);
        Assert.Contains("'code' differs from part 2", disagrees.Error, StringComparison.Ordinal);
        Assert.True(read.Exists, read.Error);
        Assert.Contains("\"code\":\"8/b\"", read.Json, StringComparison.Ordinal);
        Assert.Equal([["south", "8/b", "b"], ["west", "5", "e"]], await SqliteRowsAsync(Db, "SELECT region, code, name FROM units ORDER BY region"));
    }

    [Fact]
    public async Task A_single_key_column_the_map_gives_is_taken_as_mapped_even_when_the_record_key_would_not_fit_it()
    {
        await SqliteAsync(Db, "CREATE TABLE sites (site_id INTEGER PRIMARY KEY, name TEXT, version INTEGER)");
        var yaml = Yaml().Replace("table: permits", "table: sites").Replace("key: permit_id", "key: site_id");
        var (connector, flow) = Connector(yaml, _folder.Path);
        await using var _ = connector;

        var mapped = await connector.ApplyAsync(Delivery(flow, "S-5", 1), flow, Json("""{"site_id":5,"name":"a"}"""), CancellationToken.None);
        var fromKey = await connector.ApplyAsync(Delivery(flow, "S-6", 1), flow, Json("""{"name":"b"}"""), CancellationToken.None);

        Assert.Equal(ResultKind.Success, mapped.Kind);
        Assert.Equal(ResultKind.Permanent, fromKey.Kind);
        Assert.Contains("'site_id'", fromKey.Error, StringComparison.Ordinal);
        Assert.Equal([[5L, "a", 1L]], await SqliteRowsAsync(Db, "SELECT site_id, name, version FROM sites"));
    }
}
