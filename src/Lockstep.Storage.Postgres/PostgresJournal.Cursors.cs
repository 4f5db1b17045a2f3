using Lockstep.Events;
using Lockstep.Sources;

namespace Lockstep.Storage.Postgres;

public sealed partial class PostgresJournal : ICursorStore
{
    public async ValueTask<SourcePosition> ReadPositionAsync(string source, CancellationToken cancellationToken)
    {
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command("SELECT cursor, next_page FROM @.cursors WHERE source = @source", connection);
        command.Parameters.AddWithValue("source", source);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return new SourcePosition(null, null);
        return new SourcePosition(reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    public async ValueTask<IReadOnlyList<AppendStatus>> AppendAsync(IReadOnlyList<Event> events, string source, SourcePosition position, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return await WriteAsync(async (connection, transaction) =>
        {
            var statuses = events.Count == 0 ? [] : await AppendBatchAsync(connection, transaction, events, now, null, source, cancellationToken).ConfigureAwait(false);
            await using var save = Command("""
                INSERT INTO @.cursors(source, cursor, next_page, updated_at) VALUES (@source, @cursor, @page, @now)
                ON CONFLICT(source) DO UPDATE SET cursor = excluded.cursor, next_page = excluded.next_page, updated_at = excluded.updated_at
                """, connection, transaction);
            save.Parameters.AddWithValue("source", source);
            save.Parameters.AddWithValue("cursor", NpgsqlTypes.NpgsqlDbType.Text, Db(position.Cursor));
            save.Parameters.AddWithValue("page", NpgsqlTypes.NpgsqlDbType.Text, Db(position.NextPage));
            save.Parameters.AddWithValue("now", now);
            await save.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return statuses;
        }, cancellationToken, fenced: true).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<ProducedRecord>> ListProducedAsync(string source, ProducedRecord? after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        // A source's event ids start with "source:" (ItemMapper); the record's current event says who changed it last.
        await using var command = Command("""
            SELECT r.entity, r.key, r.version FROM @.records r JOIN @.events e ON e.seq = r.event_seq
            WHERE r.op = 0 AND starts_with(e.id, @prefix) AND (r.entity, r.key) > (@entity, @key)
            ORDER BY r.entity, r.key LIMIT @limit
            """, connection);
        command.Parameters.AddWithValue("prefix", source + ":");
        command.Parameters.AddWithValue("entity", after?.Entity ?? "");
        command.Parameters.AddWithValue("key", after?.Key ?? "");
        command.Parameters.AddWithValue("limit", limit);
        var records = new List<ProducedRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) records.Add(new ProducedRecord(reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        return records;
    }
}
