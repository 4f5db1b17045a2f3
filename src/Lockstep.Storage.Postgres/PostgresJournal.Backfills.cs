using Lockstep.Backfills;

namespace Lockstep.Storage.Postgres;

public sealed partial class PostgresJournal : IBackfillStore
{
    public async ValueTask<IReadOnlyList<string>> MarkSeenAsync(IReadOnlyCollection<string> flows, CancellationToken cancellationToken) =>
        await WriteAsync(async (connection, transaction) =>
        {
            await using var mark = Command("""
                INSERT INTO @.flows_seen(flow) SELECT unnest(@flows) ON CONFLICT(flow) DO NOTHING RETURNING flow
                """, connection, transaction);
            mark.Parameters.AddWithValue("flows", flows.ToArray());
            var fresh = new List<string>();
            await using var reader = await mark.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) fresh.Add(reader.GetString(0));
            return (IReadOnlyList<string>)fresh;
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask BeginAsync(string flow, DateTimeOffset now, CancellationToken cancellationToken) =>
        await WriteAsync(async (connection, transaction) =>
        {
            await using var begin = Command("""
                INSERT INTO @.backfills(flow, after_entity, after_key, checked, sent, started_at, finished_at) VALUES (@flow, NULL, NULL, 0, 0, @now, NULL)
                ON CONFLICT(flow) DO UPDATE SET after_entity = NULL, after_key = NULL, checked = 0, sent = 0, started_at = excluded.started_at, finished_at = NULL
                """, connection, transaction);
            begin.Parameters.AddWithValue("flow", flow);
            begin.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
            return await begin.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken, fenced: true).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<BackfillProgress>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command("SELECT flow, after_entity, after_key, checked, sent, started_at, finished_at FROM @.backfills ORDER BY flow", connection);
        var list = new List<BackfillProgress>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
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
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        // (entity, key) in the byte order SQLite uses, so a backfill moved between journals resumes in the same order.
        await using var command = Command("""
            SELECT r.entity, r.key, r.version, e.type FROM @.records r JOIN @.events e ON e.seq = r.event_seq
            WHERE r.op = 0 AND (r.entity COLLATE "C", r.key COLLATE "C") > (@entity COLLATE "C", @key COLLATE "C")
            ORDER BY r.entity COLLATE "C", r.key COLLATE "C" LIMIT @limit
            """, connection);
        command.Parameters.AddWithValue("entity", afterEntity ?? "");
        command.Parameters.AddWithValue("key", afterKey ?? "");
        command.Parameters.AddWithValue("limit", limit);
        var records = new List<RecordHead>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            records.Add(new RecordHead(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3)));
        return records;
    }

    public async ValueTask EnqueueAsync(string flow, string system, IReadOnlyList<RecordHead> records, RecordHead last, int looked, bool finished, DateTimeOffset now, CancellationToken cancellationToken) =>
        await WriteAsync(async (connection, transaction) =>
        {
            var at = now.ToUnixTimeMilliseconds();
            // The records' newest versions in one statement, unless the flow already has a delivery of one (routed since it exists).
            await using var send = Command("""
                INSERT INTO @.deliveries(flow, system, entity, key, version, event_seq, version_at, state, due_at, pending_since)
                SELECT @flow, @system, r.entity, r.key, r.version, r.event_seq, @now, 0, @now, @now
                FROM unnest(@entities, @keys) AS page(entity, key) JOIN @.records r ON r.entity = page.entity AND r.key = page.key
                WHERE r.op = 0
                ON CONFLICT(flow, entity, key) DO NOTHING
                """, connection, transaction);
            send.Parameters.AddWithValue("flow", flow);
            send.Parameters.AddWithValue("system", system);
            send.Parameters.AddWithValue("now", at);
            send.Parameters.AddWithValue("entities", records.Select(r => r.Entity).ToArray());
            send.Parameters.AddWithValue("keys", records.Select(r => r.Key).ToArray());
            var sent = records.Count == 0 ? 0 : await send.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using var move = Command("""
                UPDATE @.backfills SET after_entity = @entity, after_key = @key, checked = checked + @looked, sent = sent + @sent,
                    finished_at = CASE WHEN @finished THEN @now ELSE NULL END
                WHERE flow = @flow
                """, connection, transaction);
            move.Parameters.AddWithValue("flow", flow);
            move.Parameters.AddWithValue("entity", last.Entity);
            move.Parameters.AddWithValue("key", last.Key);
            move.Parameters.AddWithValue("looked", (long)looked);
            move.Parameters.AddWithValue("sent", (long)sent);
            move.Parameters.AddWithValue("finished", finished);
            move.Parameters.AddWithValue("now", at);
            await move.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (sent > 0) await NotifyAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            return sent;
        }, cancellationToken, fenced: true).ConfigureAwait(false);

    public async ValueTask FinishAsync(string flow, DateTimeOffset now, CancellationToken cancellationToken) =>
        await WriteAsync(async (connection, transaction) =>
        {
            await using var finish = Command("UPDATE @.backfills SET finished_at = @now WHERE flow = @flow", connection, transaction);
            finish.Parameters.AddWithValue("flow", flow);
            finish.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
            return await finish.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken, fenced: true).ConfigureAwait(false);
}
