using System.Text.Json;
using Lockstep.Deliveries;
using Lockstep.Reconciliation;

namespace Lockstep.Storage.Sqlite;

public sealed partial class SqliteJournal : IReconcileStore
{
    public async ValueTask<IReadOnlyList<Delivery>> ListDeliveredAsync(string flow, long after, int limit, CancellationToken cancellationToken)
    {
        var rows = new List<(long Id, string System, string Entity, string Key, long Version, long Seq)>();
        using (var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false))
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                SELECT id, system, entity, key, version, event_seq FROM deliveries
                WHERE flow = $flow AND state = 2 AND id > $after ORDER BY id LIMIT $limit
                """;
            command.Parameters.AddWithValue("$flow", flow);
            command.Parameters.AddWithValue("$after", after);
            command.Parameters.AddWithValue("$limit", limit);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                rows.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4), reader.GetInt64(5)));
        }
        return await WriteAsync((_, _, commands) =>
            (IReadOnlyList<Delivery>)rows.ConvertAll(r => Load(commands, r.Id, flow, r.System, r.Entity, r.Key, r.Version, r.Seq, 1, 0)),
            cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<FlowRecord>> FindAsync(string flow, IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        var rows = new List<(long Id, string System, string Entity, string Key, long Version, long Seq, bool Delivered)>();
        using (var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false))
        {
            // Seeks on UNIQUE(flow, entity, key), one per entity the flow carries (usually one), instead of a scan by key.
            var entities = new List<string>();
            using (var distinct = connection.CreateCommand())
            {
                distinct.CommandText = "SELECT DISTINCT entity FROM deliveries WHERE flow = $flow";
                distinct.Parameters.AddWithValue("$flow", flow);
                using var reader = await distinct.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) entities.Add(reader.GetString(0));
            }
            using var find = connection.CreateCommand();
            find.CommandText = "SELECT id, system, version, event_seq, state FROM deliveries WHERE flow = $flow AND entity = $entity AND key = $key";
            find.Parameters.AddWithValue("$flow", flow);
            var entity = find.Parameters.Add("$entity", Microsoft.Data.Sqlite.SqliteType.Text);
            var key = find.Parameters.Add("$key", Microsoft.Data.Sqlite.SqliteType.Text);
            foreach (var k in keys)
            {
                foreach (var e in entities)
                {
                    entity.Value = e;
                    key.Value = k;
                    using var reader = await find.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                        rows.Add((reader.GetInt64(0), reader.GetString(1), e, k, reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4) == 2));
                }
            }
        }
        if (rows.Count == 0) return [];
        return await WriteAsync((_, _, commands) =>
            (IReadOnlyList<FlowRecord>)rows.ConvertAll(r => new FlowRecord(Load(commands, r.Id, flow, r.System, r.Entity, r.Key, r.Version, r.Seq, 1, 0), r.Delivered)),
            cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<int> ScheduleRepairsAsync(IReadOnlyList<long> deliveryIds, long run, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var at = now.ToUnixTimeMilliseconds();
        return await WriteAsync((connection, transaction, _) =>
        {
            using var repair = connection.CreateCommand();
            repair.Transaction = transaction;
            // Only a record still settled as delivered: one with a newer version pending is about to be sent anyway.
            repair.CommandText = "UPDATE deliveries SET state = 0, due_at = $now, repair = $run, attempts = 0, pending_since = $now WHERE id = $id AND state = 2";
            var id = repair.Parameters.Add("$id", Microsoft.Data.Sqlite.SqliteType.Integer);
            repair.Parameters.AddWithValue("$now", at);
            repair.Parameters.AddWithValue("$run", run);
            var count = 0;
            foreach (var deliveryId in deliveryIds)
            {
                id.Value = deliveryId;
                count += repair.ExecuteNonQuery();
            }
            return count;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<int> ExpediteAsync(string flow, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var at = now.ToUnixTimeMilliseconds();
        return await WriteAsync((connection, transaction, _) =>
        {
            using var expedite = connection.CreateCommand();
            expedite.Transaction = transaction;
            expedite.CommandText = "UPDATE deliveries SET due_at = $now WHERE flow = $flow AND state = 0 AND due_at > $now";
            expedite.Parameters.AddWithValue("$flow", flow);
            expedite.Parameters.AddWithValue("$now", at);
            return expedite.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask SaveReportAsync(ReconcileReport report, CancellationToken cancellationToken) =>
        await WriteAsync((connection, transaction, _) =>
        {
            using var save = connection.CreateCommand();
            save.Transaction = transaction;
            save.CommandText = """
                INSERT INTO reconcile_runs(flow, started_at, finished_at, checked, missing, different, extra, repaired, failed, sample)
                VALUES ($flow, $started, $finished, $checked, $missing, $different, $extra, $repaired, $failed, $sample)
                """;
            save.Parameters.AddWithValue("$flow", report.Flow);
            save.Parameters.AddWithValue("$started", report.StartedAt.ToUnixTimeMilliseconds());
            save.Parameters.AddWithValue("$finished", report.FinishedAt.ToUnixTimeMilliseconds());
            save.Parameters.AddWithValue("$checked", report.Checked);
            save.Parameters.AddWithValue("$missing", report.Missing);
            save.Parameters.AddWithValue("$different", report.Different);
            save.Parameters.AddWithValue("$extra", report.Extra);
            save.Parameters.AddWithValue("$repaired", report.Repaired);
            save.Parameters.AddWithValue("$failed", report.Failed);
            save.Parameters.AddWithValue("$sample", JsonSerializer.Serialize(report.Samples));
            return save.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<ReconcileReport?> LastReportAsync(string flow, CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT started_at, finished_at, checked, missing, different, extra, repaired, failed, sample FROM reconcile_runs
            WHERE flow = $flow ORDER BY id DESC LIMIT 1
            """;
        command.Parameters.AddWithValue("$flow", flow);
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
        var samples = JsonSerializer.Deserialize<Dictionary<string, List<string>>>(reader.GetString(8)) ?? [];
        return new ReconcileReport(flow, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
            reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7),
            samples.ToDictionary(s => s.Key, s => (IReadOnlyList<string>)s.Value));
    }
}
