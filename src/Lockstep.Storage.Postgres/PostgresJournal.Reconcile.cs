using System.Text.Json;
using Lockstep.Deliveries;
using Lockstep.Reconciliation;

namespace Lockstep.Storage.Postgres;

public sealed partial class PostgresJournal : IReconcileStore
{
    public async ValueTask<IReadOnlyList<Delivery>> ListDeliveredAsync(string flow, long after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        var rows = await LoadDeliveriesAsync(connection, flow, "d.state = 2 AND d.id > @after ORDER BY d.id LIMIT @limit", p =>
        {
            p.AddWithValue("after", after);
            p.AddWithValue("limit", limit);
        }, cancellationToken).ConfigureAwait(false);
        return rows.ConvertAll(r => r.Delivery);
    }

    public async ValueTask<IReadOnlyList<FlowRecord>> FindAsync(string flow, IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        if (keys.Count == 0) return [];
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        var rows = await LoadDeliveriesAsync(connection, flow, "d.key = ANY(@keys) ORDER BY d.id", p => p.AddWithValue("keys", keys.ToArray()), cancellationToken).ConfigureAwait(false);
        return rows.ConvertAll(r => new FlowRecord(r.Delivery, r.Delivered));
    }

    public async ValueTask<int> ScheduleRepairsAsync(IReadOnlyList<long> deliveryIds, long run, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var at = now.ToUnixTimeMilliseconds();
        return await WriteAsync(async (connection, transaction) =>
        {
            // Only a record still settled as delivered: one with a newer version pending is about to be sent anyway.
            await using var repair = Command(
                "UPDATE @.deliveries SET state = 0, due_at = @now, repair = @run, attempts = 0, pending_since = @now WHERE id = ANY(@ids) AND state = 2",
                connection, transaction);
            repair.Parameters.AddWithValue("ids", deliveryIds.ToArray());
            repair.Parameters.AddWithValue("now", at);
            repair.Parameters.AddWithValue("run", run);
            var count = await repair.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (count > 0) await NotifyAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            return count;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<int> ExpediteAsync(string flow, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var at = now.ToUnixTimeMilliseconds();
        return await WriteAsync(async (connection, transaction) =>
        {
            await using var expedite = Command("UPDATE @.deliveries SET due_at = @now WHERE flow = @flow AND state = 0 AND due_at > @now", connection, transaction);
            expedite.Parameters.AddWithValue("flow", flow);
            expedite.Parameters.AddWithValue("now", at);
            return await expedite.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask SaveReportAsync(ReconcileReport report, CancellationToken cancellationToken) =>
        await WriteAsync(async (connection, transaction) =>
        {
            await using var save = Command("""
                INSERT INTO @.reconcile_runs(flow, started_at, finished_at, checked, missing, different, extra, repaired, failed, sample)
                VALUES (@flow, @started, @finished, @checked, @missing, @different, @extra, @repaired, @failed, @sample)
                """, connection, transaction);
            save.Parameters.AddWithValue("flow", report.Flow);
            save.Parameters.AddWithValue("started", report.StartedAt.ToUnixTimeMilliseconds());
            save.Parameters.AddWithValue("finished", report.FinishedAt.ToUnixTimeMilliseconds());
            save.Parameters.AddWithValue("checked", report.Checked);
            save.Parameters.AddWithValue("missing", report.Missing);
            save.Parameters.AddWithValue("different", report.Different);
            save.Parameters.AddWithValue("extra", report.Extra);
            save.Parameters.AddWithValue("repaired", report.Repaired);
            save.Parameters.AddWithValue("failed", report.Failed);
            save.Parameters.AddWithValue("sample", JsonSerializer.Serialize(report.Samples));
            return await save.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<ReconcileReport?> LastReportAsync(string flow, CancellationToken cancellationToken)
    {
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command("""
            SELECT started_at, finished_at, checked, missing, different, extra, repaired, failed, sample FROM @.reconcile_runs
            WHERE flow = @flow ORDER BY id DESC LIMIT 1
            """, connection);
        command.Parameters.AddWithValue("flow", flow);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
        var samples = JsonSerializer.Deserialize<Dictionary<string, List<string>>>(reader.GetString(8)) ?? [];
        return new ReconcileReport(flow, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
            reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7),
            samples.ToDictionary(s => s.Key, s => (IReadOnlyList<string>)s.Value));
    }
}
