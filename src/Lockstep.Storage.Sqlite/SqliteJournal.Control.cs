using Lockstep.Control;

namespace Lockstep.Storage.Sqlite;

public sealed partial class SqliteJournal : IControlStore
{
    public async ValueTask<IReadOnlyList<Pause>> ListPausesAsync(CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT kind, name, paused_by, paused_at, reason FROM pauses";
        var pauses = new List<Pause>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
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
        await WriteAsync((connection, transaction, _) =>
        {
            using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO pauses(kind, name, paused_by, paused_at, reason) VALUES ($kind, $name, $by, $at, $reason)
                ON CONFLICT(kind, name) DO NOTHING
                """;
            insert.Parameters.AddWithValue("$kind", KindName(pause.Kind));
            insert.Parameters.AddWithValue("$name", pause.Name);
            insert.Parameters.AddWithValue("$by", pause.By);
            insert.Parameters.AddWithValue("$at", pause.Since.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$reason", (object?)pause.Reason ?? DBNull.Value);
            return insert.ExecuteNonQuery() == 1;
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> ResumeAsync(PauseKind kind, string name, CancellationToken cancellationToken) =>
        await WriteAsync((connection, transaction, _) =>
        {
            using var delete = connection.CreateCommand();
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM pauses WHERE kind = $kind AND name = $name";
            delete.Parameters.AddWithValue("$kind", KindName(kind));
            delete.Parameters.AddWithValue("$name", name);
            return delete.ExecuteNonQuery() == 1;
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<Status.RemovedFlow>> ListRemovedFlowsAsync(CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT flow, MAX(system), SUM(pending), SUM(dead) FROM (
                SELECT flow, system, COUNT(*) AS pending, 0 AS dead FROM deliveries WHERE state IN (0, 1) GROUP BY flow, system
                UNION ALL SELECT flow, system, 0, COUNT(*) FROM dead_letters GROUP BY flow, system)
            GROUP BY flow ORDER BY flow
            """;
        var removed = new List<Status.RemovedFlow>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_flowSystems.ContainsKey(reader.GetString(0))) continue;
            removed.Add(new Status.RemovedFlow(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3)));
        }
        return removed;
    }

    public async ValueTask<int> DropFlowWorkAsync(string flow, CancellationToken cancellationToken) =>
        await WriteAsync((connection, transaction, _) =>
        {
            using var drop = connection.CreateCommand();
            drop.Transaction = transaction;
            drop.CommandText = "DELETE FROM deliveries WHERE flow = $flow AND state <> 2";
            drop.Parameters.AddWithValue("$flow", flow);
            var dropped = drop.ExecuteNonQuery();
            drop.CommandText = "DELETE FROM dead_letters WHERE flow = $flow; DELETE FROM held WHERE flow = $flow;";
            drop.ExecuteNonQuery();
            return dropped;
        }, cancellationToken).ConfigureAwait(false);

    private static string KindName(PauseKind kind) => kind.ToString().ToLowerInvariant();
}
