using Lockstep.Control;
using Lockstep.Journal;

namespace Lockstep.Storage.Postgres;

public sealed partial class PostgresJournal : IControlStore, IIdentityStore
{
    public async ValueTask<IReadOnlyList<Pause>> ListPausesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command("SELECT kind, name, paused_by, paused_at, reason FROM @.pauses", connection);
        var pauses = new List<Pause>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // A kind this build does not know (written by a newer one) is not ours to enforce.
            if (!Enum.TryParse<PauseKind>(reader.GetString(0), ignoreCase: true, out var kind)) continue;
            pauses.Add(new Pause(kind, reader.GetString(1), reader.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
                reader.IsDBNull(4) ? null : reader.GetString(4)));
        }
        return pauses;
    }

    public async ValueTask<bool> PauseAsync(Pause pause, CancellationToken cancellationToken) =>
        await WriteAsync(async (connection, transaction) =>
        {
            await using var insert = Command("""
                INSERT INTO @.pauses(kind, name, paused_by, paused_at, reason) VALUES (@kind, @name, @by, @at, @reason)
                ON CONFLICT(kind, name) DO NOTHING
                """, connection, transaction);
            insert.Parameters.AddWithValue("kind", KindName(pause.Kind));
            insert.Parameters.AddWithValue("name", pause.Name);
            insert.Parameters.AddWithValue("by", pause.By);
            insert.Parameters.AddWithValue("at", pause.Since.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("reason", NpgsqlTypes.NpgsqlDbType.Text, Db(pause.Reason));
            return await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> ResumeAsync(PauseKind kind, string name, CancellationToken cancellationToken) =>
        await WriteAsync(async (connection, transaction) =>
        {
            await using var delete = Command("DELETE FROM @.pauses WHERE kind = @kind AND name = @name", connection, transaction);
            delete.Parameters.AddWithValue("kind", KindName(kind));
            delete.Parameters.AddWithValue("name", name);
            return await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<Status.RemovedFlow>> ListRemovedFlowsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command("""
            SELECT flow, MAX(system), SUM(pending)::bigint, SUM(dead)::bigint FROM (
                SELECT flow, system, COUNT(*) AS pending, 0 AS dead FROM @.deliveries WHERE state IN (0, 1) GROUP BY flow, system
                UNION ALL SELECT flow, system, 0, COUNT(*) FROM @.dead_letters GROUP BY flow, system) work
            GROUP BY flow ORDER BY flow
            """, connection);
        var removed = new List<Status.RemovedFlow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_flowSystems.ContainsKey(reader.GetString(0))) continue;
            removed.Add(new Status.RemovedFlow(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
        }
        return removed;
    }

    public async ValueTask<int> DropFlowWorkAsync(string flow, CancellationToken cancellationToken) =>
        await WriteAsync(async (connection, transaction) =>
        {
            await using var drop = Command("DELETE FROM @.deliveries WHERE flow = @flow AND state <> 2", connection, transaction);
            drop.Parameters.AddWithValue("flow", flow);
            var dropped = await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using var rest = Command("DELETE FROM @.dead_letters WHERE flow = @flow; DELETE FROM @.held WHERE flow = @flow;", connection, transaction);
            rest.Parameters.AddWithValue("flow", flow);
            await rest.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return dropped;
        }, cancellationToken).ConfigureAwait(false);

    private static string KindName(PauseKind kind) => kind.ToString().ToLowerInvariant();

    public async ValueTask<string?> FindIdAsync(string flow, string entity, string key, CancellationToken cancellationToken)
    {
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command("SELECT target_id FROM @.identities WHERE flow = @flow AND entity = @entity AND key = @key", connection);
        command.Parameters.AddWithValue("flow", flow);
        command.Parameters.AddWithValue("entity", entity);
        command.Parameters.AddWithValue("key", key);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public async ValueTask SaveIdAsync(string flow, string entity, string key, string targetId, DateTimeOffset at, CancellationToken cancellationToken) =>
        await WriteAsync(async (connection, transaction) =>
        {
            await using var save = Command("""
                INSERT INTO @.identities(flow, entity, key, target_id, saved_at) VALUES (@flow, @entity, @key, @id, @at)
                ON CONFLICT(flow, entity, key) DO UPDATE SET target_id = excluded.target_id, saved_at = excluded.saved_at
                """, connection, transaction);
            save.Parameters.AddWithValue("flow", flow);
            save.Parameters.AddWithValue("entity", entity);
            save.Parameters.AddWithValue("key", key);
            save.Parameters.AddWithValue("id", targetId);
            save.Parameters.AddWithValue("at", at.ToUnixTimeMilliseconds());
            return await save.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken, fenced: true).ConfigureAwait(false);

    public async ValueTask<bool> ForgetIdAsync(string flow, string entity, string key, CancellationToken cancellationToken) =>
        await WriteAsync(async (connection, transaction) =>
        {
            await using var forget = Command("DELETE FROM @.identities WHERE flow = @flow AND entity = @entity AND key = @key", connection, transaction);
            forget.Parameters.AddWithValue("flow", flow);
            forget.Parameters.AddWithValue("entity", entity);
            forget.Parameters.AddWithValue("key", key);
            return await forget.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }, cancellationToken, fenced: true).ConfigureAwait(false);

    public async ValueTask<IReadOnlyDictionary<string, string>> IdsOfRecordAsync(string entity, string key, CancellationToken cancellationToken)
    {
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command("SELECT flow, target_id FROM @.identities WHERE entity = @entity AND key = @key ORDER BY flow", connection);
        command.Parameters.AddWithValue("entity", entity);
        command.Parameters.AddWithValue("key", key);
        var ids = new SortedDictionary<string, string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) ids[reader.GetString(0)] = reader.GetString(1);
        return ids;
    }
}
