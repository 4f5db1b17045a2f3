using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Lockstep.Bench.Scenarios;

/// <summary>
/// (7) The postgres connector: N permits delivered into a PostGIS table (the issue 3 acceptance flow: a JS map, a
/// <c>{lat, lon}</c> point, the version-guarded upsert), timed from the first publish until every one is delivered:
/// once unbatched (one statement per record) and once with <c>batch: true</c> (one multi-row upsert per delivery
/// batch). The limits: a plain Npgsql loop with the same concurrency running the same upsert, one row per statement,
/// and the same loop sending multi-row upserts of <c>delivery.batchSize</c> rows; no journal. Then the same flow into a
/// SQLite file, unbatched and batched. Runs only with <c>--pg CONN</c>.
/// </summary>
internal sealed class PostgresScenario(BenchOptions options, Report report, string folder)
{
    private int _runs;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var connection = options.Postgres ?? throw new ArgumentException("the postgres scenario needs --pg CONN");
        var n = options.Records;
        var c = options.Concurrency;
        var table = "bench_permits_" + Guid.NewGuid().ToString("N")[..8];
        await ExecuteAsync(connection, $"CREATE TABLE {table} (permit_id text PRIMARY KEY, applicant text, status text, geom geometry(Point, 4326), version bigint)", cancellationToken);
        try
        {
            var plainRate = await PlainAsync(connection, table, n, c, 1, cancellationToken);
            await ExecuteAsync(connection, $"TRUNCATE {table}", cancellationToken);
            var engineRate = await EngineAsync(Gis(connection, c), table, batched: false, () => CountAsync(connection, table, cancellationToken), cancellationToken);
            report.Add(new ResultRow(
                $"(7) postgres connector, {n:N0} records into a PostGIS table, JS map, concurrency {c}",
                $"{Report.Rate(engineRate)} records/s",
                $"plain Npgsql upsert loop, {c} workers, no journal: {Report.Rate(plainRate)} records/s",
                Report.Percent(engineRate / plainRate), "(context)", "–"));

            await ExecuteAsync(connection, $"TRUNCATE {table}", cancellationToken);
            var plainBatchRate = await PlainAsync(connection, table, n, c, ClaimBatch, cancellationToken);
            await ExecuteAsync(connection, $"TRUNCATE {table}", cancellationToken);
            var batchedRate = await EngineAsync(Gis(connection, c), table, batched: true, () => CountAsync(connection, table, cancellationToken), cancellationToken);
            report.Add(new ResultRow(
                $"(7b) the same with `batch: true` (multi-row upserts of up to {ClaimBatch} rows)",
                $"{Report.Rate(batchedRate)} records/s",
                $"plain Npgsql loop of {ClaimBatch}-row upserts, {c} workers, no journal: {Report.Rate(plainBatchRate)} records/s",
                Report.Percent(batchedRate / plainBatchRate), "(context)", "–"));

            var warehouse = Path.Combine(folder, "warehouse.db");
            await SqliteAsync(warehouse, $"PRAGMA journal_mode=WAL; CREATE TABLE {table} (permit_id TEXT PRIMARY KEY, applicant TEXT, status TEXT, geom JSON, version INTEGER)", cancellationToken);
            var sqliteRate = await EngineAsync(Warehouse(warehouse), table, batched: false, () => SqliteCountAsync(warehouse, table, cancellationToken), cancellationToken);
            await SqliteAsync(warehouse, $"DELETE FROM {table}", cancellationToken);
            var sqliteBatchedRate = await EngineAsync(Warehouse(warehouse), table, batched: true, () => SqliteCountAsync(warehouse, table, cancellationToken), cancellationToken);
            report.Add(new ResultRow(
                $"(7c) the same flow into a SQLite file (WAL, concurrency 1), unbatched → `batch: true`",
                $"{Report.Rate(sqliteRate)} → {Report.Rate(sqliteBatchedRate)} records/s",
                "–", Report.Percent(sqliteBatchedRate / sqliteRate) + " (batched/unbatched)", "(context)", "–"));
        }
        finally
        {
            await ExecuteAsync(connection, $"DROP TABLE IF EXISTS {table}", CancellationToken.None);
        }
    }

    // The engine's default delivery.batchSize: what one claim pass hands a batched flow at most.
    private const int ClaimBatch = 256;

    private static string Gis(string connection, int c)
    {
        Environment.SetEnvironmentVariable("LOCKSTEP_BENCH_PG", connection);
        return $$"""gis: { type: postgres, connection: "${LOCKSTEP_BENCH_PG}", concurrency: {{c}}, timeout: 10s }""";
    }

    // SQLite has one writer at a time: more connections would only queue on its lock.
    private static string Warehouse(string path) => $$"""gis: { type: sqlite, path: {{path}}, concurrency: 1, timeout: 10s }""";

    private async Task<double> EngineAsync(string system, string table, bool batched, Func<Task<long>> count, CancellationToken cancellationToken)
    {
        var n = options.Records;
        var run = Interlocked.Increment(ref _runs);
        var yaml = $$"""
            storage: sqlite:{{Path.Combine(folder, $"postgres-{run}.db")}}
            systems:
              {{system}}
            {{Permits.DeliveryYaml(options)}}
            flows:
              permit-map:
                on: [{{Permits.Type}}]
                to: gis
                table: {{table}}
                key: permit_id
                {{(batched ? "batch: true" : "")}}
                map: (p) => ({ permit_id: p.id, applicant: `${p.owner.firstName} ${p.owner.lastName}`, status: p.status, geom: { lat: p.location.lat, lon: p.location.lng } })
                retry: { maxAttempts: 1000, initialDelay: 50ms, maxDelay: 1s }
            """;
        await using var bench = await BenchEngine.StartAsync(yaml, folder, cancellationToken);
        var engine = bench.Engine;
        var warmup = Math.Min(options.Warmup, n);
        await IntakeScenario.PublishAllAsync(Permits.Batches("WG-", 0, warmup, options.BatchSize), options.Publishers, (b, ct) => engine.PublishAsync(b, ct), cancellationToken);
        if (!await bench.WaitDeliveredAsync(warmup, TimeSpan.FromMinutes(2))) throw new TimeoutException("warm-up did not finish in 2 minutes");

        var batches = Permits.Batches("G-", 0, n, options.BatchSize);
        var watch = Stopwatch.StartNew();
        await IntakeScenario.PublishAllAsync(batches, options.Publishers, (b, ct) => engine.PublishAsync(b, ct), cancellationToken);
        var finished = await bench.WaitDeliveredAsync(warmup + n, TimeSpan.FromMinutes(10));
        watch.Stop();
        var what = $"{(system.Contains("sqlite", StringComparison.Ordinal) ? "sqlite" : "postgres")}{(batched ? ", batched" : "")}";
        if (!finished) throw new TimeoutException($"{what}: only {bench.Delivered - warmup:N0} of {n:N0} delivered in 10 minutes");
        var rows = await count();
        if (rows != warmup + n) report.Note($"{what}: the table holds {rows:N0} rows for {warmup + n:N0} records");
        var rate = n / watch.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"[postgres] engine ({what}): {n:N0} records delivered in {watch.Elapsed.TotalSeconds:F2} s = {rate:N0}/s (retries {bench.Retried}, dead {bench.Dead})");
        return rate;
    }

    /// <summary>
    /// The limit: <paramref name="workers"/> loops, each one upsert of <paramref name="rows"/> records per statement on its
    /// own pooled connection (prepared when one row, as the driver auto-prepares the engine's statements).
    /// </summary>
    private static async Task<double> PlainAsync(string connection, string table, int n, int workers, int rows, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connection) { MaxAutoPrepare = 64 };
        await using var source = NpgsqlDataSource.Create(builder);
        var next = -rows;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            int from;
            while ((from = Interlocked.Add(ref next, rows)) < n)
            {
                var count = Math.Min(rows, n - from);
                var values = string.Join(", ", Enumerable.Range(0, count).Select(r =>
                    string.Create(CultureInfo.InvariantCulture, $"(${r * 6 + 1}, ${r * 6 + 2}, ${r * 6 + 3}, ST_SetSRID(ST_MakePoint(${r * 6 + 4}, ${r * 6 + 5}), 4326), ${r * 6 + 6})")));
                await using var command = source.CreateCommand($"INSERT INTO {table} AS t (permit_id, applicant, status, geom, version) VALUES {values} " +
                    "ON CONFLICT (permit_id) DO UPDATE SET applicant = excluded.applicant, status = excluded.status, geom = excluded.geom, version = excluded.version " +
                    "WHERE t.version IS NULL OR t.version < excluded.version");
                for (var i = from; i < from + count; i++)
                {
                    command.Parameters.AddWithValue(string.Create(CultureInfo.InvariantCulture, $"P-{i}"));
                    command.Parameters.AddWithValue(string.Create(CultureInfo.InvariantCulture, $"Ada Lovelace {i % 997}"));
                    command.Parameters.AddWithValue("approved");
                    command.Parameters.AddWithValue(13.0 + (i % 777) / 1000.0);
                    command.Parameters.AddWithValue(52.0 + (i % 1000) / 1000.0);
                    command.Parameters.AddWithValue(1L);
                }
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }, cancellationToken)));
        var rate = n / watch.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"[postgres] plain Npgsql, {rows} row(s) a statement: {n:N0} upserts in {watch.Elapsed.TotalSeconds:F2} s = {rate:N0}/s");
        return rate;
    }

    private static async Task SqliteAsync(string path, string sql, CancellationToken cancellationToken)
    {
        await using var sqlite = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false");
        await sqlite.OpenAsync(cancellationToken);
        await using var command = sqlite.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<long> SqliteCountAsync(string path, string table, CancellationToken cancellationToken)
    {
        await using var sqlite = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false");
        await sqlite.OpenAsync(cancellationToken);
        await using var command = sqlite.CreateCommand();
        command.CommandText = $"SELECT count(*) FROM {table}";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task ExecuteAsync(string connection, string sql, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(connection);
        await using var command = source.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<long> CountAsync(string connection, string table, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(connection);
        await using var command = source.CreateCommand($"SELECT count(*) FROM {table}");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
