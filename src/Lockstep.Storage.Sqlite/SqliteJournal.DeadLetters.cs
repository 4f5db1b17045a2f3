using Lockstep.Journal;

namespace Lockstep.Storage.Sqlite;

public sealed partial class SqliteJournal
{
    public async ValueTask<IReadOnlyList<DeadLetter>> ListAsync(string? flow, string? system, int limit, CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, flow, system, entity, key, version, event_id, event_type, attempts, status_code, error, dead_at FROM dead_letters
            WHERE ($flow IS NULL OR flow = $flow) AND ($system IS NULL OR system = $system) ORDER BY id LIMIT $limit
            """;
        command.Parameters.AddWithValue("$flow", (object?)flow ?? DBNull.Value);
        command.Parameters.AddWithValue("$system", (object?)system ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        var list = new List<DeadLetter>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
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
        return await WriteAsync((connection, transaction, _) =>
        {
            var selected = new List<(long Id, string Flow, string Entity, string Key, long Version)>();
            using (var select = connection.CreateCommand())
            {
                select.Transaction = transaction;
                select.CommandText = "SELECT id, flow, entity, key, version FROM dead_letters WHERE ($flow IS NULL OR flow = $flow) ORDER BY id";
                select.Parameters.AddWithValue("$flow", (object?)flow ?? DBNull.Value);
                using var reader = select.ExecuteReader();
                while (reader.Read())
                {
                    var id = reader.GetInt64(0);
                    if (ids is null || ids.Contains(id)) selected.Add((id, reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4)));
                }
            }
            var replayed = 0;
            using var revive = connection.CreateCommand();
            revive.Transaction = transaction;
            // Only a record still parked at this version is sent again; one that has moved on needs no replay.
            revive.CommandText = """
                UPDATE deliveries SET state = 0, attempts = 0, due_at = $now, pending_since = COALESCE(pending_since, $now), last_error = NULL
                WHERE flow = $flow AND entity = $entity AND key = $key AND state = 3 AND delivered_version < $version
                """;
            using var drop = connection.CreateCommand();
            drop.Transaction = transaction;
            drop.CommandText = "DELETE FROM dead_letters WHERE id = $id";
            foreach (var dl in selected)
            {
                revive.Parameters.Clear();
                revive.Parameters.AddWithValue("$now", at);
                revive.Parameters.AddWithValue("$flow", dl.Flow);
                revive.Parameters.AddWithValue("$entity", dl.Entity);
                revive.Parameters.AddWithValue("$key", dl.Key);
                revive.Parameters.AddWithValue("$version", dl.Version);
                replayed += revive.ExecuteNonQuery();
                drop.Parameters.Clear();
                drop.Parameters.AddWithValue("$id", dl.Id);
                drop.ExecuteNonQuery();
            }
            return replayed;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> DropAsync(long id, CancellationToken cancellationToken) =>
        await WriteAsync((connection, transaction, _) =>
        {
            using var drop = connection.CreateCommand();
            drop.Transaction = transaction;
            drop.CommandText = "DELETE FROM dead_letters WHERE id = $id";
            drop.Parameters.AddWithValue("$id", id);
            return drop.ExecuteNonQuery() > 0;
        }, cancellationToken).ConfigureAwait(false);
}
