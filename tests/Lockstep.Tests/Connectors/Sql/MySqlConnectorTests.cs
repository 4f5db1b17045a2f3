using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Connectors.Sql;
using Lockstep.Host;
using Lockstep.Reconciliation;
using Lockstep.Records;
using Lockstep.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using MySqlConnector;
using static Lockstep.Tests.Connectors.Sql.SqlTestKit;

namespace Lockstep.Tests.Connectors.Sql;

/// <summary>
/// The mysql connector against the real MariaDB that ./test.sh starts (tests/services.sh start_mariadb); each test has
/// its own tables. One test stops and kills the server, so they run one at a time.
/// </summary>
[CollectionDefinition("MariaDB")]
public sealed class MariaDbCollection;

[Collection("MariaDB")]
public sealed class MySqlConnectorTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static IReadOnlyDictionary<string, string> MyEnv => new Dictionary<string, string> { ["RECORDS_DB"] = TestServers.MySql };

    private static string Yaml(string table, string map, string extra = "", string retry = "{ maxAttempts: 5, initialDelay: 1s, maxDelay: 2s }", string flowExtra = "") => $$"""
        storage: sqlite:lockstep.db
        systems:
          records:
            type: mysql
            connection: ${RECORDS_DB}
        flows:
          contacts-to-records:
            on: [permitApproved, permitRevoked]
            to: records
            table: {{table}}
            key: contact_id
            map: {{map}}
            retry: {{retry}}{{flowExtra}}
        {{extra}}
        """;

    private const string ContactMap = "(c, r) => ({ contact_id: r.key, email: c.id + '@example.org', name: c.status, version: r.version })";

    private static async Task<string> ContactsTableAsync(string extraColumns = "")
    {
        var table = Table("contacts");
        await MyAsync($"CREATE TABLE {table} (contact_id varchar(64) PRIMARY KEY, email varchar(200), name varchar(100), version bigint{extraColumns})");
        return table;
    }

    private static async Task MyAsync(string sql)
    {
        await using var connection = new MySqlConnection(TestServers.MySql + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<object?[]>> MyRowsAsync(string sql)
    {
        await using var connection = new MySqlConnection(TestServers.MySql + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new MySqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    private static (IConnector Connector, FlowDefinition Flow, LockstepConfig Config) MyConnector(string yaml, string folder, IReadOnlyDictionary<string, string>? env = null)
    {
        var config = TestEngine.Load(yaml, folder, env ?? MyEnv);
        var flow = config.Flows[0];
        var system = config.Systems[flow.System];
        var factory = LockstepServiceCollectionExtensions.ConnectorFactories.Single(f => f.Type == system.Type);
        return (factory.Create(system, new ConnectorContext(TimeProvider.System, NullLoggerFactory.Instance, config.Secrets)), flow, config);
    }

    [Fact]
    public async Task The_issue_flow_writes_revisions_and_deletes_into_MariaDB_through_the_engine()
    {
        var table = await ContactsTableAsync();
        await using var engine = await TestEngine.StartAsync(Yaml(table, ContactMap), TimeProvider.System, MyEnv, new TempFolder());

        await engine.PublishAsync(TestEngine.Permit("C-1", 1), TestEngine.Permit("C-2", 1), TestEngine.Permit("C-3", 1));
        await engine.WaitForStateAsync("synced");
        await engine.PublishAsync(TestEngine.Permit("C-1", 2, status: "amended"), TestEngine.Permit("C-2", 2, type: "permitRevoked", op: RecordOp.Delete));
        await engine.WaitForStateAsync("synced");

        var rows = await MyRowsAsync($"SELECT contact_id, email, name, version FROM {table} ORDER BY contact_id");
        Assert.Equal(2, rows.Count);
        Assert.Equal(["C-1", "C-1@example.org", "amended", 2L], rows[0]);
        Assert.Equal(["C-3", "C-3@example.org", "approved", 1L], rows[1]);
    }

    [Fact]
    public async Task Upsert_is_idempotent_and_never_goes_back_to_an_older_version_and_late_deletes_do_nothing()
    {
        var table = await ContactsTableAsync();
        var (connector, flow, _) = MyConnector(Yaml(table, "(p) => p"), _folder.Path);
        await using var _ = connector;
        var v2 = Json("""{"contact_id":"C-1","name":"v2","email":"b@x"}""");
        var v1 = Json("""{"contact_id":"C-1","name":"v1","email":"a@x"}""");

        var first = await connector.ApplyAsync(Delivery(flow, "C-1", 2), flow, v2, CancellationToken.None);
        var retry = await connector.ApplyAsync(Delivery(flow, "C-1", 2), flow, v2, CancellationToken.None);
        var older = await connector.ApplyAsync(Delivery(flow, "C-1", 1), flow, v1, CancellationToken.None);
        var lateDelete = await connector.ApplyAsync(Delivery(flow, "C-1", 1, RecordOp.Delete), flow, default, CancellationToken.None);

        Assert.All([first, retry, older, lateDelete], r => Assert.Equal(ResultKind.Success, r.Kind));
        Assert.Equal(["C-1", "v2", "b@x", 2L], Assert.Single(await MyRowsAsync($"SELECT contact_id, name, email, version FROM {table}")));

        var delete = await connector.ApplyAsync(Delivery(flow, "C-1", 3, RecordOp.Delete), flow, default, CancellationToken.None);
        var deleteAgain = await connector.ApplyAsync(Delivery(flow, "C-1", 3, RecordOp.Delete), flow, default, CancellationToken.None);
        Assert.Equal(ResultKind.Success, delete.Kind);
        Assert.Equal(ResultKind.Success, deleteAgain.Kind);
        Assert.Empty(await MyRowsAsync($"SELECT 1 FROM {table}"));
    }

    [Fact]
    public async Task A_batch_lands_in_one_transaction_and_only_the_row_the_column_cannot_take_fails()
    {
        var table = await ContactsTableAsync();
        var (connector, flow, _) = MyConnector(Yaml(table, "(p) => p", flowExtra: "\n    batch: true\n    linger: 20ms"), _folder.Path);
        await using var _ = connector;
        var batches = Assert.IsAssignableFrom<IBatchConnector>(connector);
        var items = Enumerable.Range(1, 100).Select(i => new BatchItem(Delivery(flow, $"C-{i}", 1), Json($$"""{"name":"n{{i}}"}"""))).ToList();
        // Strict mode: a name longer than varchar(100) is an error (1406), not a truncation; C-4 has two versions in the batch.
        items[41] = new BatchItem(Delivery(flow, "C-42", 1), Json($$"""{"name":"{{new string('x', 101)}}"}"""));
        items.Add(new BatchItem(Delivery(flow, "C-4", 3), Json("""{"name":"newest"}""")));

        var results = await batches.ApplyBatchAsync(items, flow, CancellationToken.None);
        var retry = await batches.ApplyBatchAsync(items, flow, CancellationToken.None);

        Assert.Equal(101, results.Count);
        Assert.Equal(ResultKind.Permanent, results[41].Kind);
        Assert.Contains("1406", results[41].Error, StringComparison.Ordinal);
        Assert.All(results.Where((_, i) => i != 41), r => Assert.Equal(ResultKind.Success, r.Kind));
        Assert.Equal(ResultKind.Success, retry[0].Kind);
        var rows = await MyRowsAsync($"SELECT contact_id, name, version FROM {table} ORDER BY contact_id");
        Assert.Equal(99, rows.Count);
        Assert.Contains(rows, r => r.SequenceEqual(["C-4", "newest", 3L]));
        Assert.Contains(rows, r => r.SequenceEqual(["C-17", "n17", 1L]));
        Assert.DoesNotContain(rows, r => (string)r[0]! == "C-42");
    }

    [Fact]
    public async Task Read_returns_the_row_by_column_so_reconciliation_can_compare_it()
    {
        var table = await ContactsTableAsync(", issued timestamp(3) NULL, local_at datetime, meta json, fee decimal(10,2), due date, active boolean, floors int, ratio double, tier tinyint");
        var (connector, flow, _) = MyConnector(Yaml(table, "(p) => p"), _folder.Path);
        await using var _ = connector;
        var mapped = """
            {"name":"Ada","issued":"2026-11-23T08:00:00.25Z","local_at":"2026-11-23T09:30:00","meta":{"zone":"B","n":[1,2]},"fee":12.5,
             "due":"2026-12-01","active":true,"floors":3,"ratio":0.5,"tier":-2}
            """;

        var write = await connector.ApplyAsync(Delivery(flow, "C-1", 4), flow, Json(mapped), CancellationToken.None);
        var read = await connector.ReadAsync(Delivery(flow, "C-1", 4), flow, CancellationToken.None);
        var missing = await connector.ReadAsync(Delivery(flow, "C-404", 1), flow, CancellationToken.None);

        Assert.Equal(ResultKind.Success, write.Kind);
        Assert.True(read.Exists, read.Error);
        Assert.True(Reconciler.Covers(read.Json!, Json(mapped).Span), read.Json);
        Assert.Contains("\"version\":4", read.Json, StringComparison.Ordinal);
        Assert.False(Reconciler.Covers(read.Json!, Json("""{"name":"Bob"}""").Span));
        Assert.False(missing.Exists);
        Assert.Null(missing.Error);
        // The TIMESTAMP column holds the instant in UTC whatever the server's own zone.
        Assert.Equal("2026-11-23 08:00:00.250", (await MyRowsAsync($"SELECT CONVERT_TZ(issued, @@session.time_zone, '+00:00') FROM {table}"))[0][0] switch
        {
            DateTime t => t.ToString("yyyy-MM-dd HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture),
            var other => other?.ToString(),
        });
    }

    [Fact]
    public async Task Full_sync_repairs_rows_changed_or_removed_behind_its_back()
    {
        var table = await ContactsTableAsync();
        var yaml = Yaml(table, ContactMap).Replace("    retry:", "    reconcile: { cron: \"0 2 * * *\" }\n    retry:", StringComparison.Ordinal);
        await using var engine = await TestEngine.StartAsync(yaml, TimeProvider.System, MyEnv, new TempFolder());
        await engine.PublishAsync(TestEngine.Permit("C-1", 2), TestEngine.Permit("C-2", 1), TestEngine.Permit("C-3", 1));
        await engine.WaitForStateAsync("synced");

        await MyAsync($"UPDATE {table} SET name = 'tampered' WHERE contact_id = 'C-1'");
        await MyAsync($"DELETE FROM {table} WHERE contact_id = 'C-2'");
        var outcome = await engine.Engine.SyncAsync("contacts-to-records", full: true, CancellationToken.None);
        await engine.WaitForStateAsync("synced");
        var again = await engine.Engine.SyncAsync("contacts-to-records", full: true, CancellationToken.None);

        Assert.Equal((3, 1, 1, 2), (outcome!.Report!.Checked, outcome.Report.Missing, outcome.Report.Different, outcome.Report.Repaired));
        Assert.Equal((0, 0, 0), (again!.Report!.Missing, again.Report.Different, again.Report.Failed));
        var rows = await MyRowsAsync($"SELECT contact_id, name, version FROM {table} ORDER BY contact_id");
        Assert.Equal(["C-1", "approved", 2L], rows[0]);
        Assert.Equal(["C-2", "approved", 1L], rows[1]);
    }

    [Fact]
    public async Task A_composite_key_with_keySeparator_upserts_reads_and_deletes_by_the_record_key()
    {
        var table = Table("units");
        await MyAsync($"CREATE TABLE {table} (region varchar(20), num int, name text, version bigint, PRIMARY KEY (region, num))");
        var yaml = Yaml(table, "(p) => p").Replace("key: contact_id", "key: [region, num]\n    keySeparator: \"/\"", StringComparison.Ordinal);
        var (connector, flow, _) = MyConnector(yaml, _folder.Path);
        await using var _ = connector;

        var fromKey = await connector.ApplyAsync(Delivery(flow, "north/7", 1), flow, Json("""{"name":"a"}"""), CancellationToken.None);
        var mapped = await connector.ApplyAsync(Delivery(flow, "south/8", 1), flow, Json("""{"region":"south","num":8,"name":"b"}"""), CancellationToken.None);
        var disagrees = await connector.ApplyAsync(Delivery(flow, "west/1", 1), flow, Json("""{"region":"east","name":"d"}"""), CancellationToken.None);
        var notANumber = await connector.ApplyAsync(Delivery(flow, "west/x", 1), flow, Json("""{"name":"f"}"""), CancellationToken.None);
        var read = await connector.ReadAsync(Delivery(flow, "south/8", 1), flow, CancellationToken.None);
        var delete = await connector.ApplyAsync(Delivery(flow, "north/7", 2, RecordOp.Delete), flow, default, CancellationToken.None);

        Assert.All([fromKey, mapped, delete], r => Assert.Equal(ResultKind.Success, r.Kind));
        Assert.Equal(ResultKind.Permanent, disagrees.Kind);
        Assert.Contains("'region' differs from part 1", disagrees.Error, StringComparison.Ordinal);
        Assert.Equal(ResultKind.Permanent, notANumber.Kind);
        Assert.Contains("'num'", notANumber.Error, StringComparison.Ordinal);
        Assert.True(read.Exists, read.Error);
        Assert.True(Reconciler.Covers(read.Json!, Json("""{"region":"south","num":8,"name":"b"}""").Span), read.Json);
        Assert.Null(SqlConnectorFactory.MySql.CannotReconcile(flow));
        Assert.Equal([["south", 8, "b", 1L]], await MyRowsAsync($"SELECT region, num, name, version FROM {table} ORDER BY region"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Polled_table_or_query_pages_through_equal_cursor_values_without_skipping_or_repeating(bool query)
    {
        var table = Table("sites");
        await MyAsync($"CREATE TABLE {table} (id int PRIMARY KEY, updated_at datetime(3), label varchar(20))");
        await MyAsync($"INSERT INTO {table} SELECT seq, TIMESTAMPADD(SECOND, seq DIV 3, '2026-11-23 08:00:00'), CONCAT('s', seq) FROM seq_1_to_10");
        var from = query ? $"query: SELECT id, updated_at, label FROM {table} WHERE updated_at >= {{cursor}}" : $"table: {table}";
        var yaml = $$"""
            systems:
              records: { type: mysql, connection: "${RECORDS_DB}" }
            sources:
              sites:
                type: sql-poll
                from: records
                {{from}}
                cursor: updated_at
                key: id
                entity: site
                interval: 1m
                pageSize: 2
            flows:
              f: { entity: nothing, to: records, table: x, key: id }
            """;
        var config = TestEngine.Load(yaml, _folder.Path, MyEnv);
        await using var source = SqlConnectorFactory.MySql.CreateSource(config.Sources[0], config.Systems["records"],
            new ConnectorContext(TimeProvider.System, NullLoggerFactory.Instance, config.Secrets));

        var items = new List<System.Text.Json.JsonElement>();
        string? page = null;
        for (var pages = 0; pages < 10; pages++)
        {
            var fetch = await source.FetchAsync("", page, CancellationToken.None);
            Assert.Null(fetch.Error);
            items.AddRange(fetch.Items.Select(i => System.Text.Json.JsonDocument.Parse(i).RootElement));
            if ((page = fetch.NextPage) is null) break;
        }
        var since = await source.FetchAsync("2026-11-23T08:00:03", null, CancellationToken.None);

        Assert.Equal(Enumerable.Range(1, 10), items.Select(i => i.GetProperty("id").GetInt32()));
        Assert.Equal("2026-11-23T08:00:01", items[2].GetProperty("updated_at").GetString());
        Assert.Equal("s7", items[6].GetProperty("label").GetString());
        Assert.Null(since.Error);
        Assert.Equal([9, 10], since.Items.Select(i => System.Text.Json.JsonDocument.Parse(i).RootElement.GetProperty("id").GetInt32()));
    }

    [Fact]
    public async Task Unknown_columns_bad_values_and_missing_tables_are_permanent_and_named()
    {
        var table = await ContactsTableAsync(", issued timestamp NULL, fee int, code varchar(10) UNIQUE");
        var (connector, flow, _) = MyConnector(Yaml(table, "(p) => p"), _folder.Path);
        await using var _ = connector;

        var unknown = await connector.ApplyAsync(Delivery(flow, "C-1", 1), flow, Json("""{"colour":"red"}"""), CancellationToken.None);
        var badDate = await connector.ApplyAsync(Delivery(flow, "C-1", 1), flow, Json("""{"issued":"yesterday"}"""), CancellationToken.None);
        var badNumber = await connector.ApplyAsync(Delivery(flow, "C-1", 1), flow, Json("""{"fee":"twelve"}"""), CancellationToken.None);
        var overflow = await connector.ApplyAsync(Delivery(flow, "C-1", 1), flow, Json("""{"fee":99999999999}"""), CancellationToken.None);
        await connector.ApplyAsync(Delivery(flow, "C-1", 1), flow, Json("""{"code":"same"}"""), CancellationToken.None);
        var duplicate = await connector.ApplyAsync(Delivery(flow, "C-2", 1), flow, Json("""{"code":"same"}"""), CancellationToken.None);
        Assert.Equal([["C-1", "same", 1L]], await MyRowsAsync($"SELECT contact_id, code, version FROM {table}"));
        await MyAsync($"DROP TABLE {table}");
        var gone = await connector.ApplyAsync(Delivery(flow, "C-1", 2), flow, Json("""{"name":"x"}"""), CancellationToken.None);
        var goneAgain = await connector.ApplyAsync(Delivery(flow, "C-1", 3), flow, Json("""{"name":"x"}"""), CancellationToken.None);

        Assert.All([unknown, badDate, badNumber, overflow, duplicate, gone, goneAgain], r => Assert.Equal(ResultKind.Permanent, r.Kind));
        Assert.Contains("'colour' is not a column", unknown.Error, StringComparison.Ordinal);
        Assert.Contains("'issued'", badDate.Error, StringComparison.Ordinal);
        Assert.Contains("'fee'", badNumber.Error, StringComparison.Ordinal);
        Assert.Contains("1264", overflow.Error, StringComparison.Ordinal);
        // The other row's unique value is not this record's row: the upsert fails instead of leaving C-1's row alone and reporting success.
        Assert.Contains("another row holds one of this record's unique values", duplicate.Error, StringComparison.Ordinal);
        Assert.True(gone.Error!.Contains("1146", StringComparison.Ordinal) || gone.Error.Contains("does not exist", StringComparison.Ordinal), gone.Error);
        Assert.Contains("does not exist", goneAgain.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("stop")]
    [InlineData("kill")]
    public async Task MariaDB_stopped_or_killed_while_deliveries_are_pending_loses_nothing(string how)
    {
        var table = await ContactsTableAsync();
        var time = Clock.Fake();
        var yaml = Yaml(table, ContactMap, retry: "{ maxAttempts: 1000, initialDelay: 1s, maxDelay: 5s }");
        await using var engine = await TestEngine.StartAsync(yaml, time, MyEnv, new TempFolder());

        await engine.PublishAsync([.. Enumerable.Range(1, 300).Select(i => TestEngine.Permit($"C-{i}", 1))]);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["contacts-to-records"].Delivered >= 20, "some delivered", signal: engine.Committed);
        await TestServers.ControlAsync("MYSQL", how);
        try
        {
            await engine.PublishAsync([.. Enumerable.Range(1, 50).Select(i => TestEngine.Permit($"C-{i}", 2, status: "amended"))]);
            await engine.PublishAsync(TestEngine.Permit("C-300", 2, type: "permitRevoked", op: RecordOp.Delete));
            await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["contacts-to-records"].LastError is not null, "a failed attempt", signal: engine.Committed);
        }
        finally
        {
            await TestServers.ControlAsync("MYSQL", "start");
        }
        var whileDown = (await engine.StatusAsync()).Flows["contacts-to-records"];
        await Eventually.AdvanceUntilAsync(time, TimeSpan.FromSeconds(1), async () => (await engine.StatusAsync()).State == "synced", "synced after the restart", engine.Committed);

        Assert.Equal(0, whileDown.Dead);
        Assert.DoesNotContain("Password=", whileDown.LastError, StringComparison.Ordinal);
        var rows = await MyRowsAsync($"SELECT contact_id, name, version FROM {table}");
        Assert.Equal(299, rows.Count);
        Assert.Equal(50, rows.Count(r => (string)r[1]! == "amended" && (long)r[2]! == 2));
        Assert.Equal(249, rows.Count(r => (string)r[1]! == "approved" && (long)r[2]! == 1));
        Assert.DoesNotContain(rows, r => (string)r[0]! == "C-300");
        Assert.Equal(0, (await engine.StatusAsync()).Flows["contacts-to-records"].Dead);
        Assert.DoesNotContain(engine.Logs.Lines, l => l.Contains("Password=lockstep", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_password_is_transient_and_never_shown()
    {
        var table = await ContactsTableAsync();
        var wrong = System.Text.RegularExpressions.Regex.Replace(TestServers.MySql, "Password=[^;]*", "Password=wrong-secret-42");
        var (connector, flow, _) = MyConnector(Yaml(table, "(p) => p"), _folder.Path, new Dictionary<string, string> { ["RECORDS_DB"] = wrong });
        await using var _ = connector;

        var result = await connector.ApplyAsync(Delivery(flow, "C-1", 1), flow, Json("{}"), CancellationToken.None);

        Assert.Equal(ResultKind.Transient, result.Kind);
        Assert.Contains("1045", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-secret-42", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_errors_name_file_line_and_key_and_never_show_the_connection_string()
    {
        var missingTable = Yaml("x", "(p) => p").Replace("    table: x\n", "", StringComparison.Ordinal);
        var noConnection = Yaml("x", "(p) => p").Replace("    connection: ${RECORDS_DB}\n", "", StringComparison.Ordinal);
        var broken = Yaml("x", "(p) => p").Replace("${RECORDS_DB}", "${BROKEN}", StringComparison.Ordinal);
        var noDatabase = Yaml("x", "(p) => p").Replace("${RECORDS_DB}", "${NODB}", StringComparison.Ordinal);
        var pollFromHttp = Yaml("x", "(p) => p", extra: """
            sources:
              s: { type: sql-poll, from: records, cursor: id, key: id, entity: e, interval: 1m }
            """);
        var env = new Dictionary<string, string>(MyEnv)
        {
            ["BROKEN"] = "Server=127.0.0.1;Password=hunter2-secret;Bogus Key=1",
            ["NODB"] = "Server=127.0.0.1;User ID=u;Password=hunter3-secret",
        };

        var errors = new[] { missingTable, noConnection, broken, noDatabase, pollFromHttp }
            .Select(y => Assert.Throws<ConfigException>(() => TestEngine.Load(y, _folder.Path, env)).Errors).ToList();

        Assert.Contains(errors[0], e => e.Path == "flows.contacts-to-records.table" && e.Message.Contains("required", StringComparison.Ordinal));
        Assert.Contains(errors[1], e => e.Path == "systems.records.connection" && e.Message.Contains("required", StringComparison.Ordinal));
        var error = Assert.Single(errors[2]);
        Assert.Equal("systems.records.connection", error.Path);
        Assert.Contains("not a MySQL/MariaDB connection string", error.Message, StringComparison.Ordinal);
        Assert.Contains(errors[3], e => e.Path == "systems.records.connection" && e.Message.Contains("needs a Database", StringComparison.Ordinal));
        Assert.Contains(errors[4], e => e.Path.StartsWith("sources.s", StringComparison.Ordinal) && e.Message.Contains("table", StringComparison.Ordinal));
        Assert.All(errors.SelectMany(e => e), e => Assert.True(e.Line > 0, e.ToString()));
        Assert.All(errors.SelectMany(e => e), e => Assert.DoesNotContain("hunter", e.ToString(), StringComparison.Ordinal));
    }
}
