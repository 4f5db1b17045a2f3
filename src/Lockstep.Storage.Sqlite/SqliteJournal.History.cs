using Lockstep.Deliveries;
using Lockstep.Journal;

namespace Lockstep.Storage.Sqlite;

public sealed partial class SqliteJournal
{
    public async ValueTask<RecordHistory> RecordHistoryAsync(string entity, string key, CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, type, version, op, status, received_at FROM events WHERE entity = $entity AND key = $key ORDER BY version, seq";
        command.Parameters.AddWithValue("$entity", entity);
        command.Parameters.AddWithValue("$key", key);
        var versions = new List<RecordVersionView>();
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                versions.Add(new RecordVersionView(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3) == 1 ? "delete" : "upsert",
                    EventStatusName(reader.GetInt64(4)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
            }
        }
        command.CommandText = """
            SELECT flow, version, attempt, started_at, duration_us, outcome, status_code, error FROM attempts
            WHERE entity = $entity AND key = $key ORDER BY id
            """;
        var flows = new SortedDictionary<string, List<AttemptView>>(StringComparer.Ordinal);
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!flows.TryGetValue(reader.GetString(0), out var list)) flows[reader.GetString(0)] = list = [];
                list.Add(new AttemptView(reader.GetInt64(1), reader.GetInt32(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                    reader.GetInt64(4) / 1000.0, OutcomeName((CompletionKind)reader.GetInt64(5)), reader.IsDBNull(6) ? null : reader.GetInt32(6),
                    reader.IsDBNull(7) ? null : reader.GetString(7)));
            }
        }
        return new RecordHistory(entity, key, versions, flows.ToDictionary(f => f.Key, f => (IReadOnlyList<AttemptView>)f.Value, StringComparer.Ordinal));
    }

    public async ValueTask AuditAsync(string actor, string action, string? target, string? detail, DateTimeOffset at, CancellationToken cancellationToken) =>
        await WriteAsync((connection, transaction, _) =>
        {
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO audit(at, actor, action, target, detail) VALUES ($at, $actor, $action, $target, $detail)";
            insert.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$actor", actor);
            insert.Parameters.AddWithValue("$action", action);
            insert.Parameters.AddWithValue("$target", (object?)target ?? DBNull.Value);
            insert.Parameters.AddWithValue("$detail", (object?)detail ?? DBNull.Value);
            return insert.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<AuditEntry>> AuditLogAsync(int limit, CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, at, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT $limit";
        command.Parameters.AddWithValue("$limit", limit);
        var list = new List<AuditEntry>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new AuditEntry(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5)));
        }
        return list;
    }
}
