using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Connectors.Sql;
using Lockstep.Events;
using Lockstep.Reconciliation;
using Lockstep.Records;
using Lockstep.Tests.Support;
using static Lockstep.Tests.Connectors.Sql.SqlTestKit;

namespace Lockstep.Tests.Connectors.Sql;

/// <summary>The postgres connector against the real PostgreSQL + PostGIS that ./test.sh starts; each test has its own tables.</summary>
[Collection("PostgreSQL")]
public sealed class PostgresConnectorTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Yaml(string table, string map, string extra = "", string retry = "{ maxAttempts: 5, initialDelay: 1s, maxDelay: 2s }") => $$"""
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
            map: {{map}}
            retry: {{retry}}
        {{extra}}
        """;

    private const string PointMap = "(p) => ({ permit_id: p.id, status: p.status, geom: { lat: p.location.lat, lon: p.location.lng } })";

    private static async Task<string> PermitsTableAsync(string extraColumns = "")
    {
        var table = Table("permits");
        await PgAsync($"CREATE TABLE {table} (permit_id text PRIMARY KEY, status text, geom geometry(Point, 4326), version bigint{extraColumns})");
        return table;
    }

    [Fact]
    public async Task Acceptance_flow_writes_points_revisions_and_deletes_through_the_engine()
    {
        var table = await PermitsTableAsync();
        await using var engine = await TestEngine.StartAsync(Yaml(table, PointMap), TimeProvider.System, Env, new TempFolder());

        await engine.PublishAsync(TestEngine.Permit("P-1", 1), TestEngine.Permit("P-2", 1), TestEngine.Permit("P-3", 1));
        await engine.WaitForStateAsync("synced");
        await engine.PublishAsync(TestEngine.Permit("P-1", 2, status: "amended"), TestEngine.Permit("P-2", 2, type: "permitRevoked", op: RecordOp.Delete));
        await engine.WaitForStateAsync("synced");

        var rows = await PgRowsAsync($"SELECT permit_id, status, ST_X(geom), ST_Y(geom), ST_SRID(geom), version FROM {table} ORDER BY permit_id");
        Assert.Equal(2, rows.Count);
        Assert.Equal(["P-1", "amended", -73.6, 45.5, 4326, 2L], rows[0]);
        Assert.Equal(["P-3", "approved", -73.6, 45.5, 4326, 1L], rows[1]);
    }

    [Fact]
    public async Task Upsert_is_idempotent_under_retries_and_never_goes_back_to_an_older_version()
    {
        var table = await PermitsTableAsync();
        var (connector, flow) = Connector(Yaml(table, "(p) => p"), _folder.Path);
        await using var _ = connector;
        var v2 = Json("""{"permit_id":"P-1","status":"v2"}""");
        var v1 = Json("""{"permit_id":"P-1","status":"v1"}""");

        var first = await connector.ApplyAsync(Delivery(flow, "P-1", 2), flow, v2, CancellationToken.None);
        var retry = await connector.ApplyAsync(Delivery(flow, "P-1", 2), flow, v2, CancellationToken.None);
        var older = await connector.ApplyAsync(Delivery(flow, "P-1", 1), flow, v1, CancellationToken.None);
        var lateDelete = await connector.ApplyAsync(Delivery(flow, "P-1", 1, RecordOp.Delete), flow, default, CancellationToken.None);

        Assert.All([first, retry, older, lateDelete], r => Assert.Equal(ResultKind.Success, r.Kind));
        var rows = await PgRowsAsync($"SELECT permit_id, status, version FROM {table}");
        Assert.Equal(["P-1", "v2", 2L], Assert.Single(rows));

        var delete = await connector.ApplyAsync(Delivery(flow, "P-1", 3, RecordOp.Delete), flow, default, CancellationToken.None);
        var deleteAgain = await connector.ApplyAsync(Delivery(flow, "P-1", 3, RecordOp.Delete), flow, default, CancellationToken.None);
        Assert.Equal(ResultKind.Success, delete.Kind);
        Assert.Equal(ResultKind.Success, deleteAgain.Kind);
        Assert.Empty(await PgRowsAsync($"SELECT 1 FROM {table}"));
    }

    [Fact]
    public async Task Per_record_order_holds_across_many_versions()
    {
        var table = await PermitsTableAsync();
        await using var engine = await TestEngine.StartAsync(Yaml(table, "(p) => ({ permit_id: p.id, status: p.status })"), TimeProvider.System, Env, new TempFolder());

        for (var v = 1; v <= 20; v++)
            await engine.PublishAsync([.. Enumerable.Range(1, 10).Select(i => TestEngine.Permit($"P-{i}", v, status: $"s{v}"))]);
        await engine.WaitForStateAsync("synced");

        var rows = await PgRowsAsync($"SELECT status, version FROM {table}");
        Assert.Equal(10, rows.Count);
        Assert.All(rows, r => Assert.Equal(["s20", 20L], r));
    }

    [Fact]
    public async Task GeoJSON_geometries_become_PostGIS_shapes_in_SRID_4326()
    {
        var table = Table("zones");
        await PgAsync($"CREATE TABLE {table} (permit_id text PRIMARY KEY, geom geometry, version bigint)");
        var (connector, flow) = Connector(Yaml(table, "(p) => p"), _folder.Path);
        await using var _ = connector;

        var point = await connector.ApplyAsync(Delivery(flow, "P-1", 1), flow, Json("""{"geom":{"type":"Point","coordinates":[-73.6,45.5]}}"""), CancellationToken.None);
        var polygon = await connector.ApplyAsync(Delivery(flow, "P-2", 1), flow,
            Json("""{"geom":{"type":"Polygon","coordinates":[[[0,0],[0,2],[2,2],[2,0],[0,0]]]}}"""), CancellationToken.None);

        Assert.Equal(ResultKind.Success, point.Kind);
        Assert.Equal(ResultKind.Success, polygon.Kind);
        var rows = await PgRowsAsync($"SELECT permit_id, ST_GeometryType(geom), ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)), ST_SRID(geom) FROM {table} ORDER BY permit_id");
        Assert.Equal(["P-1", "ST_Point", -73.6, 45.5, 4326], rows[0]);
        Assert.Equal(["P-2", "ST_Polygon", 1.0, 1.0, 4326], rows[1]);
    }

    [Fact]
    public async Task Soft_delete_marks_the_row_and_a_later_upsert_brings_it_back()
    {
        var table = await PermitsTableAsync(", deleted boolean NOT NULL DEFAULT false");
        var (connector, flow) = Connector(Yaml(table, "(p) => p").Replace("key: permit_id", "key: permit_id\n    softDelete: deleted"), _folder.Path);
        await using var _ = connector;

        await connector.ApplyAsync(Delivery(flow, "P-1", 1), flow, Json("""{"status":"approved"}"""), CancellationToken.None);
        var delete = await connector.ApplyAsync(Delivery(flow, "P-1", 2, RecordOp.Delete), flow, default, CancellationToken.None);
        var afterDelete = await PgRowsAsync($"SELECT status, deleted, version FROM {table}");
        var read = await connector.ReadAsync(Delivery(flow, "P-1", 2), flow, CancellationToken.None);
        var back = await connector.ApplyAsync(Delivery(flow, "P-1", 3), flow, Json("""{"status":"reissued"}"""), CancellationToken.None);

        Assert.Equal(ResultKind.Success, delete.Kind);
        Assert.Equal(["approved", true, 2L], Assert.Single(afterDelete));
        Assert.False(read.Exists);
        Assert.Equal(ResultKind.Success, back.Kind);
        Assert.Equal(["reissued", false, 3L], Assert.Single(await PgRowsAsync($"SELECT status, deleted, version FROM {table}")));
    }

    [Fact]
    public async Task Read_returns_the_row_by_column_so_reconciliation_can_compare_it()
    {
        var table = await PermitsTableAsync(", issued timestamptz, meta jsonb, fee numeric(10,2), ref uuid, due date, active boolean, floors integer");
        var (connector, flow) = Connector(Yaml(table, "(p) => p"), _folder.Path);
        await using var _ = connector;
        var mapped = """
            {"status":"approved","geom":{"lat":45.5,"lon":-73.6},"issued":"2026-11-23T08:00:00Z","meta":{"zone":"B"},"fee":12.5,
             "ref":"6f1c2a3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f","due":"2026-12-01","active":true,"floors":3}
            """;

        await connector.ApplyAsync(Delivery(flow, "P-1", 4), flow, Json(mapped), CancellationToken.None);
        var read = await connector.ReadAsync(Delivery(flow, "P-1", 4), flow, CancellationToken.None);
        var missing = await connector.ReadAsync(Delivery(flow, "P-404", 1), flow, CancellationToken.None);

        Assert.True(read.Exists, read.Error);
        Assert.True(Reconciler.Covers(read.Json!, Json(mapped).Span), read.Json);
        Assert.Contains("\"version\":4", read.Json, StringComparison.Ordinal);
        Assert.False(Reconciler.Covers(read.Json!, Json("""{"status":"revoked"}""").Span));
        Assert.False(missing.Exists);
        Assert.Null(missing.Error);
    }

    [Fact]
    public async Task Full_sync_repairs_rows_changed_or_removed_behind_its_back()
    {
        var table = await PermitsTableAsync();
        var yaml = Yaml(table, PointMap).Replace("    retry:", "    reconcile: { cron: \"0 2 * * *\" }\n    retry:");
        await using var engine = await TestEngine.StartAsync(yaml, TimeProvider.System, Env, new TempFolder());
        await engine.PublishAsync(TestEngine.Permit("P-1", 2), TestEngine.Permit("P-2", 1), TestEngine.Permit("P-3", 1));
        await engine.WaitForStateAsync("synced");

        await PgAsync($"UPDATE {table} SET status = 'tampered' WHERE permit_id = 'P-1'");
        await PgAsync($"DELETE FROM {table} WHERE permit_id = 'P-2'");
        var outcome = await engine.Engine.SyncAsync("permit-map", full: true, CancellationToken.None);
        await engine.WaitForStateAsync("synced");
        var again = await engine.Engine.SyncAsync("permit-map", full: true, CancellationToken.None);

        Assert.Equal((3, 1, 1, 2), (outcome!.Report!.Checked, outcome.Report.Missing, outcome.Report.Different, outcome.Report.Repaired));
        Assert.Equal((0, 0, 0), (again!.Report!.Missing, again.Report.Different, again.Report.Failed));
        var rows = await PgRowsAsync($"SELECT permit_id, status, version, ST_X(geom) FROM {table} ORDER BY permit_id");
        Assert.Equal(["P-1", "approved", 2L, -73.6], rows[0]);
        Assert.Equal(["P-2", "approved", 1L, -73.6], rows[1]);
    }

    [Fact]
    public async Task Polled_query_pages_through_equal_cursor_values_without_skipping_or_repeating()
    {
        var table = Table("sites");
        await PgAsync($"CREATE TABLE {table} (id integer PRIMARY KEY, updated_at timestamptz, geom geometry(Point, 4326))");
        await PgAsync($"INSERT INTO {table} SELECT i, '2026-11-23T08:00:00Z'::timestamptz + ((i / 3) || ' seconds')::interval, ST_SetSRID(ST_MakePoint(i, 45), 4326) FROM generate_series(1, 10) i");
        var yaml = $$"""
            systems:
              gis: { type: postgres, connection: "${GIS_DB}" }
            sources:
              sites:
                type: sql-poll
                from: gis
                query: SELECT id, updated_at, ST_AsGeoJSON(geom)::json AS geom FROM {{table}} WHERE updated_at >= {cursor}
                cursor: updated_at
                key: id
                entity: site
                interval: 1m
                pageSize: 2
            flows:
              f: { entity: nothing, to: gis, table: x, key: id }
            """;
        var config = TestEngine.Load(yaml, _folder.Path, Env);
        await using var source = SqlConnectorFactory.Postgres.CreateSource(config.Sources[0], config.Systems["gis"],
            new ConnectorContext(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, config.Secrets));

        var items = new List<System.Text.Json.JsonElement>();
        string? page = null;
        for (var pages = 0; pages < 10; pages++)
        {
            var fetch = await source.FetchAsync("", page, CancellationToken.None);
            Assert.Null(fetch.Error);
            items.AddRange(fetch.Items.Select(i => System.Text.Json.JsonDocument.Parse(i).RootElement));
            if ((page = fetch.NextPage) is null) break;
        }
        var since = await source.FetchAsync("2026-11-23T08:00:03Z", null, CancellationToken.None);

        Assert.Equal(Enumerable.Range(1, 10), items.Select(i => i.GetProperty("id").GetInt32()));
        Assert.Equal("2026-11-23T08:00:01Z", items[2].GetProperty("updated_at").GetString());
        Assert.Equal(7.0, items[6].GetProperty("geom").GetProperty("coordinates")[0].GetDouble());
        Assert.Equal([9, 10], since.Items.Select(i => System.Text.Json.JsonDocument.Parse(i).RootElement.GetProperty("id").GetInt32()));
    }

    [Fact]
    public async Task A_multi_column_key_upserts_from_the_mapped_record_and_without_keySeparator_refuses_deletes_clearly()
    {
        var table = Table("units");
        await PgAsync($"CREATE TABLE {table} (region text, num integer, name text, version bigint, PRIMARY KEY (region, num))");
        var (connector, flow) = Connector(Yaml(table, "(p) => p").Replace("key: permit_id", "key: [region, num]"), _folder.Path);
        await using var _ = connector;

        var first = await connector.ApplyAsync(Delivery(flow, "north-7", 1), flow, Json("""{"region":"north","num":7,"name":"a"}"""), CancellationToken.None);
        var second = await connector.ApplyAsync(Delivery(flow, "north-7", 2), flow, Json("""{"region":"north","num":7,"name":"b"}"""), CancellationToken.None);
        var incomplete = await connector.ApplyAsync(Delivery(flow, "north-8", 1), flow, Json("""{"region":"north","name":"c"}"""), CancellationToken.None);
        var delete = await connector.ApplyAsync(Delivery(flow, "north-7", 3, RecordOp.Delete), flow, default, CancellationToken.None);

        Assert.Equal(ResultKind.Success, first.Kind);
        Assert.Equal(ResultKind.Success, second.Kind);
        Assert.Equal(["north", 7, "b", 2L], Assert.Single(await PgRowsAsync($"SELECT region, num, name, version FROM {table}")));
        Assert.Equal(ResultKind.Permanent, incomplete.Kind);
        Assert.Contains("'num'", incomplete.Error, StringComparison.Ordinal);
        Assert.Equal(ResultKind.Permanent, delete.Kind);
        Assert.Contains("needs keySeparator", delete.Error, StringComparison.Ordinal);
        Assert.Contains("keySeparator", SqlConnectorFactory.Postgres.CannotReconcile(flow), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_composite_key_with_keySeparator_upserts_reads_and_deletes_by_the_record_key()
    {
        var table = Table("units");
        await PgAsync($"CREATE TABLE {table} (region text, num integer, name text, version bigint, PRIMARY KEY (region, num))");
        var yaml = Yaml(table, "(p) => p").Replace("key: permit_id", "key: [region, num]\n    keySeparator: \"/\"");
        var (connector, flow) = Connector(yaml, _folder.Path);
        await using var _ = connector;

        var fromKey = await connector.ApplyAsync(Delivery(flow, "north/7", 1), flow, Json("""{"name":"a"}"""), CancellationToken.None);
        var mapped = await connector.ApplyAsync(Delivery(flow, "south/8", 1), flow, Json("""{"region":"south","num":8,"name":"b"}"""), CancellationToken.None);
        var third = await connector.ApplyAsync(Delivery(flow, "east/9", 1), flow, Json("""{"name":"c"}"""), CancellationToken.None);
        var disagrees = await connector.ApplyAsync(Delivery(flow, "west/1", 1), flow, Json("""{"region":"east","name":"d"}"""), CancellationToken.None);
        var tooFew = await connector.ApplyAsync(Delivery(flow, "west", 1), flow, Json("""{"name":"e"}"""), CancellationToken.None);
        var notANumber = await connector.ApplyAsync(Delivery(flow, "west/x", 1), flow, Json("""{"name":"f"}"""), CancellationToken.None);
        var read = await connector.ReadAsync(Delivery(flow, "south/8", 1), flow, CancellationToken.None);
        var missing = await connector.ReadAsync(Delivery(flow, "south/9", 1), flow, CancellationToken.None);
        var delete = await connector.ApplyAsync(Delivery(flow, "north/7", 2, RecordOp.Delete), flow, default, CancellationToken.None);
        var lateDelete = await connector.ApplyAsync(Delivery(flow, "south/8", 1, RecordOp.Delete), flow, default, CancellationToken.None);

        Assert.All([fromKey, mapped, third, delete, lateDelete], r => Assert.Equal(ResultKind.Success, r.Kind));
        Assert.Equal(ResultKind.Permanent, disagrees.Kind);
        Assert.Contains("'region' differs from part 1 of the record key 'west/1'", disagrees.Error, StringComparison.Ordinal);
        Assert.Equal(ResultKind.Permanent, tooFew.Kind);
        Assert.Contains("does not hold 2 values separated by '/'", tooFew.Error, StringComparison.Ordinal);
        Assert.Equal(ResultKind.Permanent, notANumber.Kind);
        Assert.Contains("'num'", notANumber.Error, StringComparison.Ordinal);
        Assert.True(read.Exists, read.Error);
        Assert.True(Reconciler.Covers(read.Json!, Json("""{"region":"south","num":8,"name":"b"}""").Span), read.Json);
        Assert.False(missing.Exists);
        Assert.Null(missing.Error);
        Assert.Null(SqlConnectorFactory.Postgres.CannotReconcile(flow));
        Assert.Equal([["east", 9, "c", 1L], ["south", 8, "b", 1L]], await PgRowsAsync($"SELECT region, num, name, version FROM {table} ORDER BY region"));
    }

    [Fact]
    public async Task Values_the_columns_cannot_take_and_unknown_columns_are_permanent_and_named()
    {
        var table = await PermitsTableAsync(", issued timestamptz, fee integer");
        var (connector, flow) = Connector(Yaml(table, "(p) => p"), _folder.Path);
        await using var _ = connector;

        var unknown = await connector.ApplyAsync(Delivery(flow, "P-1", 1), flow, Json("""{"colour":"red"}"""), CancellationToken.None);
        var badDate = await connector.ApplyAsync(Delivery(flow, "P-1", 1), flow, Json("""{"issued":"yesterday"}"""), CancellationToken.None);
        var badNumber = await connector.ApplyAsync(Delivery(flow, "P-1", 1), flow, Json("""{"fee":"twelve"}"""), CancellationToken.None);
        var badGeometry = await connector.ApplyAsync(Delivery(flow, "P-1", 1), flow, Json("""{"geom":{"x":1}}"""), CancellationToken.None);
        var overflow = await connector.ApplyAsync(Delivery(flow, "P-1", 1), flow, Json("""{"fee":99999999999}"""), CancellationToken.None);

        Assert.All([unknown, badDate, badNumber, badGeometry, overflow], r => Assert.Equal(ResultKind.Permanent, r.Kind));
        Assert.Contains("'colour' is not a column", unknown.Error, StringComparison.Ordinal);
        Assert.Contains("'issued'", badDate.Error, StringComparison.Ordinal);
        Assert.Contains("'fee'", badNumber.Error, StringComparison.Ordinal);
        Assert.Contains("lat, lon", badGeometry.Error, StringComparison.Ordinal);
        Assert.Contains("22003", overflow.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_table_and_column_errors_from_the_server_are_permanent()
    {
        var table = await PermitsTableAsync();
        var (connector, flow) = Connector(Yaml(table, "(p) => p"), _folder.Path);
        await using var _ = connector;
        await connector.ApplyAsync(Delivery(flow, "P-1", 1), flow, Json("""{"status":"a"}"""), CancellationToken.None);

        // The catalog is cached: the column dropped behind its back fails at the server (42703), then the catalog is re-read.
        await PgAsync($"ALTER TABLE {table} DROP COLUMN status");
        var dropped = await connector.ApplyAsync(Delivery(flow, "P-1", 2), flow, Json("""{"status":"b"}"""), CancellationToken.None);
        var reread = await connector.ApplyAsync(Delivery(flow, "P-1", 3), flow, Json("""{"status":"c"}"""), CancellationToken.None);
        await PgAsync($"DROP TABLE {table}");
        var gone = await connector.ApplyAsync(Delivery(flow, "P-1", 4), flow, Json("""{"permit_id":"P-1"}"""), CancellationToken.None);

        Assert.Equal(ResultKind.Permanent, dropped.Kind);
        Assert.Contains("42703", dropped.Error, StringComparison.Ordinal);
        Assert.Equal(ResultKind.Permanent, reread.Kind);
        Assert.Contains("'status' is not a column", reread.Error, StringComparison.Ordinal);
        Assert.Equal(ResultKind.Permanent, gone.Kind);
        Assert.Contains("42P01", gone.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unique_violation_on_another_column_goes_to_dead_letters_at_once()
    {
        var table = await PermitsTableAsync(", code text UNIQUE");
        await using var engine = await TestEngine.StartAsync(Yaml(table, "(p) => ({ permit_id: p.id, code: 'same' })"), TimeProvider.System, Env, new TempFolder());

        await engine.PublishAsync(TestEngine.Permit("P-1", 1));
        await engine.WaitForStateAsync("synced");
        await engine.PublishAsync(TestEngine.Permit("P-2", 1));
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["permit-map"].Dead == 1, "one dead letter", signal: engine.Committed);

        var dead = Assert.Single(await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None));
        Assert.Equal("P-2", dead.Key);
        Assert.Equal(1, dead.Attempts);
        Assert.Contains("unique violation", dead.Error, StringComparison.Ordinal);
        Assert.Single(await PgRowsAsync($"SELECT 1 FROM {table}"));
    }

    [Theory]
    [InlineData("kill")]
    [InlineData("stop")]
    public async Task PostgreSQL_killed_or_stopped_mid_delivery_is_transient_and_nothing_is_lost(string how)
    {
        var table = await PermitsTableAsync();
        var time = Clock.Fake();
        var yaml = Yaml(table, PointMap, retry: "{ maxAttempts: 1000, initialDelay: 1s, maxDelay: 5s }");
        // The test server runs with synchronous_commit=off, which may lose acknowledged commits in a crash: not here.
        var durable = new Dictionary<string, string> { ["GIS_DB"] = TestServers.Postgres + ";Options=-c synchronous_commit=on" };
        await using var engine = await TestEngine.StartAsync(yaml, time, durable, new TempFolder());

        await engine.PublishAsync([.. Enumerable.Range(1, 300).Select(i => TestEngine.Permit($"P-{i}", 1))]);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["permit-map"].Delivered >= 20, "some delivered", signal: engine.Committed);
        await TestServers.ControlAsync("PG", how);
        try
        {
            await engine.PublishAsync([.. Enumerable.Range(1, 50).Select(i => TestEngine.Permit($"P-{i}", 2, status: "amended"))]);
            await engine.PublishAsync(TestEngine.Permit("P-300", 2, type: "permitRevoked", op: RecordOp.Delete));
            await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["permit-map"].LastError is not null, "a failed attempt", signal: engine.Committed);
        }
        finally
        {
            await TestServers.ControlAsync("PG", "start");
        }
        var whileDown = (await engine.StatusAsync()).Flows["permit-map"];
        await Eventually.AdvanceUntilAsync(time, TimeSpan.FromSeconds(1), async () => (await engine.StatusAsync()).State == "synced", "synced after the restart", engine.Committed);

        Assert.Equal(0, whileDown.Dead);
        Assert.DoesNotContain(TestServers.Postgres, whileDown.LastError, StringComparison.Ordinal);
        var rows = await PgRowsAsync($"SELECT permit_id, status, version, ST_Y(geom) FROM {table}");
        Assert.Equal(299, rows.Count);
        Assert.Equal(50, rows.Count(r => (string)r[1]! == "amended" && (long)r[2]! == 2));
        Assert.Equal(249, rows.Count(r => (string)r[1]! == "approved" && (long)r[2]! == 1));
        Assert.All(rows, r => Assert.Equal(45.5, r[3]));
        Assert.DoesNotContain(rows, r => (string)r[0]! == "P-300");
        Assert.Equal(0, (await engine.StatusAsync()).Flows["permit-map"].Dead);
        Assert.DoesNotContain(engine.Logs.Lines, l => l.Contains("Port=", StringComparison.Ordinal) || l.Contains(durable["GIS_DB"], StringComparison.Ordinal));
        var history = await engine.Engine.RecordHistoryAsync("permit", "P-1", CancellationToken.None);
        Assert.All(history.Flows["permit-map"], a => Assert.DoesNotContain("Port=", a.Error ?? "", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_password_is_transient_and_never_shown()
    {
        var table = await PermitsTableAsync();
        var wrong = System.Text.RegularExpressions.Regex.Replace(TestServers.Postgres, "Password=[^;]*", "Password=wrong-secret-42");
        var config = TestEngine.Load(Yaml(table, "(p) => p"), _folder.Path, new Dictionary<string, string> { ["GIS_DB"] = wrong });
        await using var connector = SqlConnectorFactory.Postgres.Create(config.Systems["gis"],
            new ConnectorContext(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, config.Secrets));

        var result = await connector.ApplyAsync(Delivery(config.Flows[0], "P-1", 1), config.Flows[0], Json("{}"), CancellationToken.None);

        Assert.Equal(ResultKind.Transient, result.Kind);
        Assert.Contains("28P01", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-secret-42", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_errors_name_the_key_and_never_show_the_connection_string()
    {
        var missingTable = Yaml("x", "(p) => p").Replace("    table: x\n", "");
        var unknownSystem = Yaml("x", "(p) => p").Replace("to: gis", "to: warehouse");
        var noConnection = Yaml("x", "(p) => p").Replace("    connection: \"${GIS_DB}\"\n", "");
        var broken = Yaml("x", "(p) => p").Replace("\"${GIS_DB}\"", "\"${BROKEN}\"");
        var env = new Dictionary<string, string>(Env) { ["BROKEN"] = "Host=127.0.0.1;Password=hunter2-secret;Bogus Key=1" };

        var errors = new[] { missingTable, unknownSystem, noConnection, broken }
            .Select(y => Assert.Throws<ConfigException>(() => TestEngine.Load(y, _folder.Path, env)).Errors).ToList();

        Assert.Contains(errors[0], e => e.Path == "flows.permit-map.table" && e.Message.Contains("required", StringComparison.Ordinal));
        Assert.Contains(errors[1], e => e.Path == "flows.permit-map.to" && e.Message.Contains("unknown system 'warehouse'", StringComparison.Ordinal));
        Assert.Contains(errors[2], e => e.Path == "systems.gis.connection" && e.Message.Contains("required", StringComparison.Ordinal));
        var error = Assert.Single(errors[3]);
        Assert.Equal("systems.gis.connection", error.Path);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
        Assert.All(errors.SelectMany(e => e), e => Assert.True(e.Line > 0, e.ToString()));
    }
}
