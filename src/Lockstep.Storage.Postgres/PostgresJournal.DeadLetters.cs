using Lockstep.Journal;

namespace Lockstep.Storage.Postgres;

public sealed partial class PostgresJournal
{
    public async ValueTask<IReadOnlyList<DeadLetter>> ListAsync(string? flow, string? system, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command("""
            SELECT id, flow, system, entity, key, version, event_id, event_type, attempts, status_code, error, dead_at FROM @.dead_letters
            WHERE (@flow::text IS NULL OR flow = @flow) AND (@system::text IS NULL OR system = @system) ORDER BY id LIMIT @limit
            """, connection);
        command.Parameters.AddWithValue("flow", NpgsqlTypes.NpgsqlDbType.Text, Db(flow));
        command.Parameters.AddWithValue("system", NpgsqlTypes.NpgsqlDbType.Text, Db(system));
        command.Parameters.AddWithValue("limit", limit);
        var list = new List<DeadLetter>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new DeadLetter(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
                reader.GetInt64(5), reader.GetString(6), reader.GetString(7), reader.GetInt32(8),
                reader.IsDBNull(9) ? null : reader.GetInt32(9), reader.IsDBNull(10) ? null : reader.GetString(10),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(11))));
        }
        return list;
    }

    public async ValueTask<int> ReplayAsync(string? flow, IReadOnlyCollection<long>? ids, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var at = now.ToUnixTimeMilliseconds();
        return await WriteAsync(async (connection, transaction) =>
        {
            // Only a record still parked at this version is sent again; one that has moved on needs no replay. The letters go either way.
            await using var replay = Command("""
                WITH dropped AS (
                    DELETE FROM @.dead_letters WHERE (@flow::text IS NULL OR flow = @flow) AND (@ids::bigint[] IS NULL OR id = ANY(@ids))
                    RETURNING flow, entity, key, version),
                revived AS (
                    UPDATE @.deliveries d SET state = 0, attempts = 0, due_at = @now, pending_since = COALESCE(d.pending_since, @now), last_error = NULL
                    FROM (SELECT flow, entity, key, MAX(version) AS version FROM dropped GROUP BY flow, entity, key) x
                    WHERE d.flow = x.flow AND d.entity = x.entity AND d.key = x.key AND d.state = 3 AND d.delivered_version < x.version
                    RETURNING d.id)
                SELECT COUNT(*) FROM revived
                """, connection, transaction);
            replay.Parameters.AddWithValue("flow", NpgsqlTypes.NpgsqlDbType.Text, Db(flow));
            replay.Parameters.AddWithValue("ids", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Bigint, ids is null ? DBNull.Value : ids.ToArray());
            replay.Parameters.AddWithValue("now", at);
            var revived = Convert.ToInt32(await replay.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
            if (revived > 0) await NotifyAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            return revived;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> DropAsync(long id, CancellationToken cancellationToken) =>
        await WriteAsync(async (connection, transaction) =>
        {
            await using var drop = Command("DELETE FROM @.dead_letters WHERE id = @id", connection, transaction);
            drop.Parameters.AddWithValue("id", id);
            return await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }, cancellationToken).ConfigureAwait(false);
}
