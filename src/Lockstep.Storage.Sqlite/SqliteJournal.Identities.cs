using Lockstep.Journal;

namespace Lockstep.Storage.Sqlite;

public sealed partial class SqliteJournal : IIdentityStore
{
    public async ValueTask<string?> FindIdAsync(string flow, string entity, string key, CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT target_id FROM identities WHERE flow = $flow AND entity = $entity AND key = $key";
        command.Parameters.AddWithValue("$flow", flow);
        command.Parameters.AddWithValue("$entity", entity);
        command.Parameters.AddWithValue("$key", key);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public async ValueTask SaveIdAsync(string flow, string entity, string key, string targetId, DateTimeOffset at, CancellationToken cancellationToken) =>
        await WriteAsync((connection, transaction, _) =>
        {
            using var save = connection.CreateCommand();
            save.Transaction = transaction;
            save.CommandText = """
                INSERT INTO identities(flow, entity, key, target_id, saved_at) VALUES ($flow, $entity, $key, $id, $at)
                ON CONFLICT(flow, entity, key) DO UPDATE SET target_id = excluded.target_id, saved_at = excluded.saved_at
                """;
            save.Parameters.AddWithValue("$flow", flow);
            save.Parameters.AddWithValue("$entity", entity);
            save.Parameters.AddWithValue("$key", key);
            save.Parameters.AddWithValue("$id", targetId);
            save.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
            return save.ExecuteNonQuery();
        }, cancellationToken, fenced: true).ConfigureAwait(false);

    public async ValueTask<bool> ForgetIdAsync(string flow, string entity, string key, CancellationToken cancellationToken) =>
        await WriteAsync((connection, transaction, _) =>
        {
            using var forget = connection.CreateCommand();
            forget.Transaction = transaction;
            forget.CommandText = "DELETE FROM identities WHERE flow = $flow AND entity = $entity AND key = $key";
            forget.Parameters.AddWithValue("$flow", flow);
            forget.Parameters.AddWithValue("$entity", entity);
            forget.Parameters.AddWithValue("$key", key);
            return forget.ExecuteNonQuery() > 0;
        }, cancellationToken, fenced: true).ConfigureAwait(false);

    public async ValueTask<IReadOnlyDictionary<string, string>> IdsOfRecordAsync(string entity, string key, CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT flow, target_id FROM identities WHERE entity = $entity AND key = $key ORDER BY flow";
        command.Parameters.AddWithValue("$entity", entity);
        command.Parameters.AddWithValue("$key", key);
        var ids = new SortedDictionary<string, string>(StringComparer.Ordinal);
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) ids[reader.GetString(0)] = reader.GetString(1);
        return ids;
    }
}
