using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Lockstep.Bench.Scenarios;

/// <summary>
/// (7) The postgres connector: N permits delivered into a PostGIS table (the issue 3 acceptance flow: a JS map, a
/// <c>{lat, lon}</c> point, the version-guarded upsert, one statement per record), timed from the first publish until
/// every one is delivered. The limit: a plain Npgsql loop with the same concurrency running the same kind of upsert,
/// no journal. Runs only with <c>--pg CONN</c>.
/// </summary>
internal sealed class PostgresScenario(BenchOptions options, Report report, string folder)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var connection = options.Postgres ?? throw new ArgumentException("the postgres scenario needs --pg CONN");
        var n = options.Records;
        var c = options.Concurrency;
        var table = "bench_permits_" + Guid.NewGuid().ToString("N")[..8];
        await ExecuteAsync(connection, $"CREATE TABLE {table} (permit_id text PRIMARY KEY, applicant text, status text, geom geometry(Point, 4326), version bigint)", cancellationToken);
        try
        {
            var plainRate = await PlainAsync(connection, table, n, c, cancellationToken);
            await ExecuteAsync(connection, $"TRUNCATE {table}", cancellationToken);
            var engineRate = await EngineAsync(connection, table, n, c, cancellationToken);
            var ratio = engineRate / plainRate;
            report.Add(new ResultRow(
                $"(7) postgres connector, {n:N0} records into a PostGIS table, JS map, concurrency {c}",
                $"{Report.Rate(engineRate)} records/s",
                $"plain Npgsql upsert loop, {c} workers, no journal: {Report.Rate(plainRate)} records/s",
                Report.Percent(ratio), "(context)", "–"));
        }
        finally
        {
            await ExecuteAsync(connection, $"DROP TABLE IF EXISTS {table}", CancellationToken.None);
        }
    }

    private async Task<double> EngineAsync(string connection, string table, int n, int c, CancellationToken cancellationToken)
    {
        Environment.SetEnvironmentVariable("LOCKSTEP_BENCH_PG", connection);
        var yaml = $$"""
            storage: sqlite:{{Path.Combine(folder, "postgres.db")}}
            systems:
              gis: { type: postgres, connection: "${LOCKSTEP_BENCH_PG}", concurrency: {{c}}, timeout: 10s }
            {{Permits.DeliveryYaml(options)}}
            flows:
              permit-map:
                on: [{{Permits.Type}}]
                to: gis
                table: {{table}}
                key: permit_id
                map: (p) => ({ permit_id: p.id, applicant: `${p.owner.firstName} ${p.owner.lastName}`, status: p.status, geom: { lat: p.location.lat, lon: p.location.lng } })
                retry: { maxAttempts: 1000, initialDelay: 50ms, maxDelay: 1s }
            """;
        await using var bench = await BenchEngine.StartAsync(yaml, folder, cancellationToken);
        var engine = bench.Engine;
        var warmup = Math.Min(options.Warmup, n);
        await IntakeScenario.PublishAllAsync(Permits.Batches("WG-", 0, warmup, options.BatchSize), options.Publishers, (b, ct) => engine.PublishAsync(b, ct), cancellationToken);
        if (!await bench.WaitDeliveredAsync(warmup, TimeSpan.FromMinutes(2))) throw new TimeoutException("postgres warm-up did not finish in 2 minutes");

        var batches = Permits.Batches("G-", 0, n, options.BatchSize);
        var watch = Stopwatch.StartNew();
        await IntakeScenario.PublishAllAsync(batches, options.Publishers, (b, ct) => engine.PublishAsync(b, ct), cancellationToken);
        var finished = await bench.WaitDeliveredAsync(warmup + n, TimeSpan.FromMinutes(10));
        watch.Stop();
        if (!finished) throw new TimeoutException($"postgres: only {bench.Delivered - warmup:N0} of {n:N0} delivered in 10 minutes");
        var rows = await CountAsync(connection, table, cancellationToken);
        if (rows != warmup + n) report.Note($"postgres: the table holds {rows:N0} rows for {warmup + n:N0} records");
        var rate = n / watch.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"[postgres] engine: {n:N0} records delivered in {watch.Elapsed.TotalSeconds:F2} s = {rate:N0}/s (retries {bench.Retried}, dead {bench.Dead})");
        return rate;
    }

    /// <summary>The limit: <paramref name="workers"/> loops, each one prepared upsert per record on its own pooled connection.</summary>
    private static async Task<double> PlainAsync(string connection, string table, int n, int workers, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(connection);
        var sql = $"INSERT INTO {table} AS t (permit_id, applicant, status, geom, version) VALUES ($1, $2, $3, ST_SetSRID(ST_MakePoint($4, $5), 4326), $6) " +
            "ON CONFLICT (permit_id) DO UPDATE SET applicant = excluded.applicant, status = excluded.status, geom = excluded.geom, version = excluded.version " +
            "WHERE t.version IS NULL OR t.version < excluded.version";
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < n)
            {
                await using var command = source.CreateCommand(sql);
                command.Parameters.AddWithValue(string.Create(CultureInfo.InvariantCulture, $"P-{i}"));
                command.Parameters.AddWithValue(string.Create(CultureInfo.InvariantCulture, $"Ada Lovelace {i % 997}"));
                command.Parameters.AddWithValue("approved");
                command.Parameters.AddWithValue(13.0 + (i % 777) / 1000.0);
                command.Parameters.AddWithValue(52.0 + (i % 1000) / 1000.0);
                command.Parameters.AddWithValue(1L);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }, cancellationToken)));
        var rate = n / watch.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"[postgres] plain Npgsql: {n:N0} upserts in {watch.Elapsed.TotalSeconds:F2} s = {rate:N0}/s");
        return rate;
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
