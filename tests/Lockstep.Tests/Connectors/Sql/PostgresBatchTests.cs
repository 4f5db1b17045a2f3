using Lockstep.Connectors;
using Lockstep.Records;
using Lockstep.Tests.Support;
using static Lockstep.Tests.Connectors.Sql.SqlTestKit;

namespace Lockstep.Tests.Connectors.Sql;

/// <summary>
/// Batched postgres flows (<c>batch: true</c>): multi-row upserts in one transaction, against the real PostgreSQL that
/// ./test.sh starts. Statement-level triggers count the statements (and drop the connection) where a test needs it.
/// </summary>
[Collection("PostgreSQL")]
public sealed class PostgresBatchTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Yaml(string table, string map = "(p) => p", string extra = "", string retry = "{ maxAttempts: 5, initialDelay: 1s, maxDelay: 2s }") => $$"""
        storage: sqlite:lockstep.db
        systems:
          gis:
            type: postgres
            connection: "${GIS_DB}"
        flows:
          permit-map:
            on: [permitApproved, permitRevoked]
            to: gis
            table: {{table}}
            key: permit_id
            batch: true
            linger: 20ms
            map: {{map}}
            retry: {{retry}}
        {{extra}}
        """;

    private static async Task<string> PermitsTableAsync(string extraColumns = "")
    {
        var table = Table("permits");
        await PgAsync($"CREATE TABLE {table} (permit_id text PRIMARY KEY, status text, geom geometry(Point, 4326), version bigint{extraColumns})");
        return table;
    }

    /// <summary>Counts the INSERT statements run on the table (a sequence: rolled-back statements count too).</summary>
    private static Task CountStatementsAsync(string table) => PgAsync($"""
        CREATE SEQUENCE {table}_statements;
        CREATE FUNCTION {table}_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM nextval('{table}_statements'); RETURN NULL; END $$;
        CREATE TRIGGER {table}_count AFTER INSERT ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {table}_count();
        """);

    private static async Task<long> StatementsAsync(string table) =>
        (long)(await PgRowsAsync($"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {table}_statements"))[0][0]!;

    private static IBatchConnector Batches(IConnector connector) => Assert.IsAssignableFrom<IBatchConnector>(connector);

    private static BatchItem Item(Lockstep.Configuration.FlowDefinition flow, string key, long version, string json) => new(Delivery(flow, key, version), Json(json));

    [Fact]
    public async Task A_batch_upserts_many_rows_in_one_statement_and_a_retry_changes_nothing()
    {
        var table = await PermitsTableAsync();
        await CountStatementsAsync(table);
        var (connector, flow) = Connector(Yaml(table), _folder.Path);
        await using var _ = connector;
        var items = Enumerable.Range(1, 200)
            .Select(i => Item(flow, $"P-{i}", 1, $$$"""{"status":"s{{{i}}}","geom":{"lat":45.5,"lon":{{{i % 90}}}}}"""))
            .ToList();

        var first = await Batches(connector).ApplyBatchAsync(items, flow, CancellationToken.None);
        var statements = await StatementsAsync(table);
        var retry = await Batches(connector).ApplyBatchAsync(items, flow, CancellationToken.None);

        Assert.All(first.Concat(retry), r => Assert.Equal(ResultKind.Success, r.Kind));
        Assert.Equal(200, first.Count);
        Assert.Equal(1, statements);
        var rows = await PgRowsAsync($"SELECT permit_id, status, version, ST_X(geom), ST_SRID(geom) FROM {table} ORDER BY permit_id");
        Assert.Equal(200, rows.Count);
        Assert.Contains(rows, r => r.SequenceEqual(["P-17", "s17", 1L, 17.0, 4326]));
    }

    [Fact]
    public async Task Two_versions_of_one_record_in_a_batch_keep_the_newest_and_an_older_version_never_overwrites_a_newer_row()
    {
        var table = await PermitsTableAsync();
        var (connector, flow) = Connector(Yaml(table), _folder.Path);
        await using var _ = connector;
        await Batches(connector).ApplyBatchAsync([Item(flow, "P-9", 5, """{"status":"v5"}""")], flow, CancellationToken.None);

        var results = await Batches(connector).ApplyBatchAsync(
        [
            Item(flow, "P-1", 1, """{"status":"v1"}"""),
            Item(flow, "P-1", 3, """{"status":"v3"}"""),
            Item(flow, "P-1", 2, """{"status":"v2"}"""),
            Item(flow, "P-9", 4, """{"status":"v4"}"""),
            Item(flow, "P-2", 1, """{"status":"a"}"""),
        ], flow, CancellationToken.None);

        Assert.All(results, r => Assert.Equal(ResultKind.Success, r.Kind));
        var rows = await PgRowsAsync($"SELECT permit_id, status, version FROM {table} ORDER BY permit_id");
        Assert.Equal([["P-1", "v3", 3L], ["P-2", "a", 1L], ["P-9", "v5", 5L]], rows);
    }

    [Fact]
    public async Task Deletes_in_a_batch_keep_per_record_order()
    {
        var table = await PermitsTableAsync();
        var (connector, flow) = Connector(Yaml(table), _folder.Path);
        await using var _ = connector;
        await Batches(connector).ApplyBatchAsync([Item(flow, "P-3", 1, """{"status":"old"}"""), Item(flow, "P-4", 1, """{"status":"old"}""")], flow, CancellationToken.None);

        var results = await Batches(connector).ApplyBatchAsync(
        [
            Item(flow, "P-1", 1, """{"status":"upserted then deleted"}"""),
            new BatchItem(Delivery(flow, "P-1", 2, RecordOp.Delete), default),
            new BatchItem(Delivery(flow, "P-2", 3, RecordOp.Delete), default),
            Item(flow, "P-2", 2, """{"status":"older than its delete"}"""),
            new BatchItem(Delivery(flow, "P-3", 2, RecordOp.Delete), default),
            Item(flow, "P-3", 3, """{"status":"back"}"""),
            new BatchItem(Delivery(flow, "P-4", 2, RecordOp.Delete), default),
        ], flow, CancellationToken.None);

        Assert.All(results, r => Assert.Equal(ResultKind.Success, r.Kind));
        Assert.Equal([["P-3", "back", 3L]], await PgRowsAsync($"SELECT permit_id, status, version FROM {table}"));
    }

    [Fact]
    public async Task A_bad_row_in_a_batch_fails_alone_and_the_others_land()
    {
        var table = await PermitsTableAsync(", code text UNIQUE, floors integer NOT NULL DEFAULT 0");
        var (connector, flow) = Connector(Yaml(table), _folder.Path);
        await using var _ = connector;
        await Batches(connector).ApplyBatchAsync([Item(flow, "P-0", 1, """{"code":"taken"}""")], flow, CancellationToken.None);
        var items = Enumerable.Range(1, 12).Select(i => Item(flow, $"P-{i}", 1, $$"""{"code":"c{{i}}"}""")).ToList();
        items[3] = Item(flow, "P-4", 1, """{"code":"taken"}""");            // unique violation on another column
        items[8] = Item(flow, "P-9", 1, """{"code":"c9","floors":null}""");  // not-null violation
        items[10] = Item(flow, "P-11", 1, """{"floors":"many"}""");          // a value the column cannot take, found before sending

        var results = await Batches(connector).ApplyBatchAsync(items, flow, CancellationToken.None);

        Assert.Equal(ResultKind.Permanent, results[3].Kind);
        Assert.Contains("unique violation", results[3].Error, StringComparison.Ordinal);
        Assert.Equal(ResultKind.Permanent, results[8].Kind);
        Assert.Contains("must not be null", results[8].Error, StringComparison.Ordinal);
        Assert.Equal(ResultKind.Permanent, results[10].Kind);
        Assert.Contains("'floors'", results[10].Error, StringComparison.Ordinal);
        Assert.Equal(9, results.Count(r => r.Kind == ResultKind.Success));
        var keys = (await PgRowsAsync($"SELECT permit_id FROM {table} WHERE permit_id <> 'P-0' ORDER BY permit_id")).Select(r => (string)r[0]!);
        Assert.Equal(["P-1", "P-10", "P-12", "P-2", "P-3", "P-5", "P-6", "P-7", "P-8"], keys);
    }

    [Fact]
    public async Task A_batch_over_the_parameter_limit_is_split_into_statements_of_one_transaction()
    {
        var table = await PermitsTableAsync();
        await CountStatementsAsync(table);
        var (connector, flow) = Connector(Yaml(table), _folder.Path);
        await using var _ = connector;
        // permit_id, status, version: 3 parameters a row, so 22,000 rows need 66,000 > 65,535.
        var items = Enumerable.Range(1, 22_000).Select(i => Item(flow, $"P-{i}", 1, """{"status":"s"}""")).ToList();

        var results = await Batches(connector).ApplyBatchAsync(items, flow, CancellationToken.None);

        Assert.All(results, r => Assert.Equal(ResultKind.Success, r.Kind));
        Assert.Equal(2, await StatementsAsync(table));
        Assert.Equal(22_000L, (await PgRowsAsync($"SELECT count(*) FROM {table}"))[0][0]);
    }

    [Fact]
    public async Task A_connection_dropped_during_a_batch_is_transient_and_the_retry_loses_nothing()
    {
        var table = await PermitsTableAsync();
        // The first INSERT statement on the table terminates its own connection (a sequence is not rolled back).
        await PgAsync($"""
            CREATE SEQUENCE {table}_kills;
            CREATE FUNCTION {table}_kill() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF nextval('{table}_kills') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NULL; END $$;
            CREATE TRIGGER {table}_kill BEFORE INSERT ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {table}_kill();
            """);
        var time = Clock.Fake();
        await using var engine = await TestEngine.StartAsync(Yaml(table, "(p) => ({ permit_id: p.id, status: p.status })", retry: "{ maxAttempts: 100, initialDelay: 1s, maxDelay: 2s }"),
            time, Env, new TempFolder());

        await engine.PublishAsync([.. Enumerable.Range(1, 50).Select(i => TestEngine.Permit($"P-{i}", 1))]);
        await Eventually.AdvanceUntilAsync(time, TimeSpan.FromMilliseconds(500), async () => (await engine.StatusAsync()).State == "synced", "synced after the dropped connection", engine.Committed);

        var status = (await engine.StatusAsync()).Flows["permit-map"];
        Assert.Equal((50L, 0L), (status.Delivered, status.Dead));
        Assert.Equal(50L, (await PgRowsAsync($"SELECT count(*) FROM {table} WHERE status = 'approved' AND version = 1"))[0][0]);
        Assert.True((long)(await PgRowsAsync($"SELECT last_value FROM {table}_kills"))[0][0]! >= 2, "the dropping statement ran, and a later one");
        var failed = new List<string>();
        for (var i = 1; i <= 50; i++)
        {
            var history = await engine.Engine.RecordHistoryAsync("permit", $"P-{i}", CancellationToken.None);
            failed.AddRange(history.Flows["permit-map"].Where(a => a.Error is not null).Select(a => a.Error!));
        }
        Assert.NotEmpty(failed);
        Assert.All(failed, e => Assert.True(e.Contains("57P01", StringComparison.Ordinal) || e.Contains("connection", StringComparison.OrdinalIgnoreCase), e));
        Assert.DoesNotContain(failed, e => e.Contains("Password", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Engine_delivers_a_batched_flow_with_revisions_and_deletes_in_few_statements()
    {
        var table = await PermitsTableAsync();
        await CountStatementsAsync(table);
        await using var engine = await TestEngine.StartAsync(Yaml(table, "(p) => ({ permit_id: p.id, status: p.status, geom: { lat: p.location.lat, lon: p.location.lng } })"),
            TimeProvider.System, Env, new TempFolder());

        await engine.PublishAsync([.. Enumerable.Range(1, 300).Select(i => TestEngine.Permit($"P-{i}", 1))]);
        await engine.WaitForStateAsync("synced");
        await engine.PublishAsync([.. Enumerable.Range(1, 100).Select(i => TestEngine.Permit($"P-{i}", 2, status: "amended")),
            TestEngine.Permit("P-300", 2, type: "permitRevoked", op: RecordOp.Delete)]);
        await engine.WaitForStateAsync("synced");

        var rows = await PgRowsAsync($"SELECT status, version, ST_Y(geom) FROM {table}");
        Assert.Equal(299, rows.Count);
        Assert.Equal(100, rows.Count(r => r.SequenceEqual(["amended", 2L, 45.5])));
        Assert.Equal(199, rows.Count(r => r.SequenceEqual(["approved", 1L, 45.5])));
        Assert.InRange(await StatementsAsync(table), 2, 100);
    }

    [Fact]
    public async Task A_flows_batchSize_caps_the_rows_per_statement()
    {
        var table = await PermitsTableAsync();
        await CountStatementsAsync(table);
        var yaml = Yaml(table, "(p) => ({ permit_id: p.id, status: p.status })").Replace("linger: 20ms", "linger: 20ms\n    batchSize: 10", StringComparison.Ordinal);
        await using var engine = await TestEngine.StartAsync(yaml, TimeProvider.System, Env, new TempFolder());

        await engine.PublishAsync([.. Enumerable.Range(1, 100).Select(i => TestEngine.Permit($"P-{i}", 1))]);
        await engine.WaitForStateAsync("synced");

        Assert.Equal(100, (await PgRowsAsync($"SELECT permit_id FROM {table}")).Count);
        Assert.InRange(await StatementsAsync(table), 10, 100);   // at most 10 rows each
    }

    [Fact]
    public async Task Batch_keys_are_validated_at_startup()
    {
        var lingerAlone = Yaml("x").Replace("    batch: true\n", "");
        var notBool = Yaml("x").Replace("batch: true", "batch: POST /x");
        var separatorOnOneColumn = Yaml("x").Replace("key: permit_id", "key: permit_id\n    keySeparator: \"/\"");
        var sizeAlone = Yaml("x").Replace("    batch: true\n", "").Replace("linger: 20ms", "batchSize: 10");

        var errors = new[] { lingerAlone, notBool, separatorOnOneColumn, sizeAlone }
            .Select(y => Assert.Throws<Lockstep.Configuration.ConfigException>(() => TestEngine.Load(y, _folder.Path, Env)).Errors).ToList();

        Assert.Contains(errors[0], e => e.Path == "flows.permit-map.linger" && e.Message.Contains("batch: true", StringComparison.Ordinal));
        Assert.Contains(errors[1], e => e.Path == "flows.permit-map.batch" && e.Message.Contains("true or false", StringComparison.Ordinal));
        Assert.Contains(errors[2], e => e.Path == "flows.permit-map.keySeparator" && e.Message.Contains("multi-column", StringComparison.Ordinal));
        Assert.Contains(errors[3], e => e.Path == "flows.permit-map.batchSize" && e.Message.Contains("batch: true", StringComparison.Ordinal));
    }
}
