using Lockstep.Backfills;

namespace Lockstep.Storage.Sqlite;

public sealed partial class SqliteJournal : IBackfillStore
{
    public async ValueTask<IReadOnlyList<string>> MarkSeenAsync(IReadOnlyCollection<string> flows, CancellationToken cancellationToken) =>
        await WriteAsync((connection, transaction, _) =>
        {
            using var mark = connection.CreateCommand();
            mark.Transaction = transaction;
            mark.CommandText = "INSERT INTO flows_seen(flow) VALUES ($flow) ON CONFLICT(flow) DO NOTHING";
            var flow = mark.Parameters.Add("$flow", Microsoft.Data.Sqlite.SqliteType.Text);
            var fresh = new List<string>();
            foreach (var name in flows)
            {
                flow.Value = name;
                if (mark.ExecuteNonQuery() > 0) fresh.Add(name);
            }
            return (IReadOnlyList<string>)fresh;
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask BeginAsync(string flow, DateTimeOffset now, CancellationToken cancellationToken) =>
        await WriteAsync((connection, transaction, _) =>
        {
            using var begin = connection.CreateCommand();
            begin.Transaction = transaction;
            begin.CommandText = """
                INSERT INTO backfills(flow, after_entity, after_key, checked, sent, started_at, finished_at) VALUES ($flow, NULL, NULL, 0, 0, $now, NULL)
                ON CONFLICT(flow) DO UPDATE SET after_entity = NULL, after_key = NULL, checked = 0, sent = 0, started_at = excluded.started_at, finished_at = NULL
                """;
            begin.Parameters.AddWithValue("$flow", flow);
            begin.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            return begin.ExecuteNonQuery();
        }, cancellationToken, fenced: true).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<BackfillProgress>> ListAsync(CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT flow, after_entity, after_key, checked, sent, started_at, finished_at FROM backfills ORDER BY flow";
        var list = new List<BackfillProgress>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new BackfillProgress(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetInt64(3), reader.GetInt64(4), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                reader.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6))));
        }
        return list;
    }

    public async ValueTask<IReadOnlyList<RecordHead>> ListRecordsAsync(string? afterEntity, string? afterKey, int limit, CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT r.entity, r.key, r.version, e.type FROM records r JOIN events e ON e.seq = r.event_seq
            WHERE r.op = 0 AND (r.entity, r.key) > ($entity, $key)
            ORDER BY r.entity, r.key LIMIT $limit
            """;
        command.Parameters.AddWithValue("$entity", afterEntity ?? "");
        command.Parameters.AddWithValue("$key", afterKey ?? "");
        command.Parameters.AddWithValue("$limit", limit);
        var records = new List<RecordHead>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            records.Add(new RecordHead(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3)));
        return records;
    }

    public async ValueTask EnqueueAsync(string flow, string system, IReadOnlyList<RecordHead> records, RecordHead last, int looked, bool finished, DateTimeOffset now, CancellationToken cancellationToken) =>
        await WriteAsync((connection, transaction, _) =>
        {
            var at = now.ToUnixTimeMilliseconds();
            using var send = connection.CreateCommand();
            send.Transaction = transaction;
            // The record's newest version, unless the flow already has a delivery of it (routed since the flow exists).
            send.CommandText = """
                INSERT INTO deliveries(flow, system, entity, key, version, event_seq, version_at, state, due_at, pending_since)
                SELECT $flow, $system, r.entity, r.key, r.version, r.event_seq, $now, 0, $now, $now FROM records r
                WHERE r.entity = $entity AND r.key = $key AND r.op = 0
                ON CONFLICT(flow, entity, key) DO NOTHING
                """;
            send.Parameters.AddWithValue("$flow", flow);
            send.Parameters.AddWithValue("$system", system);
            send.Parameters.AddWithValue("$now", at);
            var entity = send.Parameters.Add("$entity", Microsoft.Data.Sqlite.SqliteType.Text);
            var key = send.Parameters.Add("$key", Microsoft.Data.Sqlite.SqliteType.Text);
            var sent = 0;
            foreach (var record in records)
            {
                entity.Value = record.Entity;
                key.Value = record.Key;
                sent += send.ExecuteNonQuery();
            }
            using var move = connection.CreateCommand();
            move.Transaction = transaction;
            move.CommandText = """
                UPDATE backfills SET after_entity = $entity, after_key = $key, checked = checked + $looked, sent = sent + $sent,
                    finished_at = CASE WHEN $finished THEN $now ELSE NULL END
                WHERE flow = $flow
                """;
            move.Parameters.AddWithValue("$flow", flow);
            move.Parameters.AddWithValue("$entity", last.Entity);
            move.Parameters.AddWithValue("$key", last.Key);
            move.Parameters.AddWithValue("$looked", looked);
            move.Parameters.AddWithValue("$sent", sent);
            move.Parameters.AddWithValue("$finished", finished);
            move.Parameters.AddWithValue("$now", at);
            return move.ExecuteNonQuery();
        }, cancellationToken, fenced: true).ConfigureAwait(false);

    public async ValueTask FinishAsync(string flow, DateTimeOffset now, CancellationToken cancellationToken) =>
        await WriteAsync((connection, transaction, _) =>
        {
            using var finish = connection.CreateCommand();
            finish.Transaction = transaction;
            finish.CommandText = "UPDATE backfills SET finished_at = $now WHERE flow = $flow";
            finish.Parameters.AddWithValue("$flow", flow);
            finish.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            return finish.ExecuteNonQuery();
        }, cancellationToken, fenced: true).ConfigureAwait(false);
}
