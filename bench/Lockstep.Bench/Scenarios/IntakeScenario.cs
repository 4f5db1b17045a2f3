using System.Diagnostics;
using Lockstep.Configuration;
using Lockstep.Events;
using Lockstep.Routing;
using Lockstep.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Lockstep.Bench.Scenarios;

/// <summary>
/// (1) Durable intake: arrays of events through <c>LockstepEngine.PublishAsync</c> from several publishers into a real
/// SQLite journal, each call acknowledged only after its commit; the one flow points at a closed port, so deliveries are
/// routed and stored but none is sent. The limit: the same rows (event, record, delivery per event) inserted with
/// Microsoft.Data.Sqlite alone, in transactions of the same size, same schema, WAL and synchronous=FULL.
/// </summary>
internal sealed class IntakeScenario(BenchOptions options, Report report, string folder)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var n = options.IntakeEvents;
        var batch = options.BatchSize;
        Console.Error.WriteLine($"[intake] building {n:N0} events in arrays of {batch}");
        var warmup = Permits.Batches("W-", 0, Math.Min(20 * batch, n), batch);
        var events = Permits.Batches("I-", 0, n, batch);

        var engineRate = await EngineAsync(warmup, events, cancellationToken);
        var rawRate = await RawAsync(warmup, events, routed: true, "raw-rows.db", cancellationToken);
        var rawEventsRate = await RawAsync(warmup, events, routed: false, "raw-events.db", cancellationToken);

        var ratio = engineRate / rawRate;
        report.Add(new ResultRow(
            $"(1) durable intake, {n:N0} events, {options.Publishers} publishers × arrays of {batch}",
            $"{Report.Rate(engineRate)} events/s",
            $"raw SQLite, same rows (event+record+delivery), tx of {batch}: {Report.Rate(rawRate)} events/s",
            Report.Percent(ratio), "≥ 70 %", Report.YesNo(ratio >= 0.70)));
        report.Add(new ResultRow(
            "(1b) the same, against an events-only insert",
            $"{Report.Rate(engineRate)} events/s",
            $"raw SQLite, one row per event, tx of {batch}: {Report.Rate(rawEventsRate)} rows/s",
            Report.Percent(engineRate / rawEventsRate), "(context)", "–"));
    }

    private async Task<double> EngineAsync(List<Event[]> warmup, List<Event[]> events, CancellationToken cancellationToken)
    {
        var yaml = $$"""
            storage: sqlite:{{Path.Combine(folder, "intake.db")}}
            systems:
              offline:
                type: http
                url: http://127.0.0.1:1
                concurrency: 4
                circuit: { minimumThroughput: 2, breakDuration: 1h, maxBreakDuration: 1h }
            flows:
            {{Permits.FlowYaml("offline")}}
            """;
        await using var bench = await BenchEngine.StartAsync(yaml, folder, cancellationToken);
        var engine = bench.Engine;
        await PublishAllAsync(warmup, options.Publishers, (b, ct) => engine.PublishAsync(b, ct), cancellationToken);
        bench.Journal.Reset();
        var load = Report.LoadAverage();
        var cpu = ProcessMemory.CpuTime();
        var watch = Stopwatch.StartNew();
        var accepted = await PublishAllAsync(events, options.Publishers, (b, ct) => engine.PublishAsync(b, ct), cancellationToken);
        watch.Stop();
        var cpuPerEvent = ProcessMemory.CpuMicros(cpu, events.Sum(e => e.Length));
        var total = events.Sum(e => e.Length);
        if (accepted != total) report.Note($"intake: {accepted:N0} of {total:N0} events were accepted (the rest duplicates or stale)");
        var rate = total / watch.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"[intake] engine: {total:N0} events in {watch.Elapsed.TotalSeconds:F2} s = {rate:N0}/s; CPU {cpuPerEvent:F1} µs/event (load {load})");
        Console.Error.WriteLine($"[intake] {bench.Journal.Describe()}");
        return rate;
    }

    /// <summary>Runs <paramref name="publishers"/> loops that take the next array and publish it; returns the accepted count.</summary>
    public static async Task<long> PublishAllAsync(IReadOnlyList<Event[]> batches, int publishers,
        Func<Event[], CancellationToken, ValueTask<AppendResult>> publish, CancellationToken cancellationToken)
    {
        var next = -1;
        long accepted = 0;
        var loops = Enumerable.Range(0, publishers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < batches.Count)
            {
                var result = await publish(batches[i], cancellationToken);
                Interlocked.Add(ref accepted, result.Accepted);
            }
        }, cancellationToken));
        await Task.WhenAll(loops);
        return accepted;
    }

    private async Task<double> RawAsync(List<Event[]> warmup, List<Event[]> events, bool routed, string file, CancellationToken cancellationToken)
    {
        var path = Path.Combine(folder, file);
        // The journal's own migrations make the schema (tables, unique keys and indexes), so the rows cost the same to insert.
        await using (var journal = new SqliteJournal(path, new Intake.AppendRules(new FlowRouter([]), DeliveryOptions.Default, null), TimeProvider.System))
        {
            await journal.OpenAsync(cancellationToken);
        }
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        await connection.OpenAsync(cancellationToken);
        using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
        }
        using var insertEvent = Command(connection, """
            INSERT INTO events(id, type, entity, key, version, op, data, received_at, status, flows, completion)
            VALUES ($id, $type, $entity, $key, $version, 0, $data, $now, 0, 'permits-to-offline', 1) RETURNING seq
            """, "$id", "$type", "$entity", "$key", "$version", "$data", "$now");
        using var insertRecord = Command(connection,
            "INSERT INTO records(entity, key, version, op, event_seq) VALUES ($entity, $key, $version, 0, $seq)",
            "$entity", "$key", "$version", "$seq");
        using var insertDelivery = Command(connection, """
            INSERT INTO deliveries(flow, system, entity, key, version, event_seq, version_at, state, due_at, pending_since)
            VALUES ('permits-to-offline', 'offline', $entity, $key, $version, $seq, $now, 0, $now, $now)
            """, "$entity", "$key", "$version", "$seq", "$now");

        void Insert(Event[] batch)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            using var transaction = connection.BeginTransaction();
            insertEvent.Transaction = transaction;
            insertRecord.Transaction = transaction;
            insertDelivery.Transaction = transaction;
            foreach (var e in batch)
            {
                var id = $"{e.Entity}:{e.Key}:{e.Version}";
                Set(insertEvent, id, e.Type, e.Entity, e.Key, e.Version, e.Data, now);
                var seq = (long)insertEvent.ExecuteScalar()!;
                if (!routed) continue;
                Set(insertRecord, e.Entity, e.Key, e.Version, seq);
                insertRecord.ExecuteNonQuery();
                Set(insertDelivery, e.Entity, e.Key, e.Version, seq, now);
                insertDelivery.ExecuteNonQuery();
            }
            transaction.Commit();
        }

        foreach (var b in warmup) Insert(b);
        var load = Report.LoadAverage();
        var cpu = ProcessMemory.CpuTime();
        var watch = Stopwatch.StartNew();
        foreach (var b in events) Insert(b);
        watch.Stop();
        var cpuPerEvent = ProcessMemory.CpuMicros(cpu, events.Sum(e => e.Length));
        var total = events.Sum(e => e.Length);
        var rate = total / watch.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"[intake] raw ({(routed ? "event+record+delivery" : "event only")}): {total:N0} events in {watch.Elapsed.TotalSeconds:F2} s = {rate:N0}/s; CPU {cpuPerEvent:F1} µs/event (load {load})");
        return rate;
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var p in parameters) command.Parameters.Add(new SqliteParameter(p, null));
        return command;
    }

    private static void Set(SqliteCommand command, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i] ?? DBNull.Value;
    }
}
