using Lockstep.Events;
using Lockstep.Sources;

namespace Lockstep.Storage.Sqlite;

public sealed partial class SqliteJournal : ICursorStore
{
    public async ValueTask<string?> ReadCursorAsync(string source, CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT cursor FROM cursors WHERE source = $source";
        command.Parameters.AddWithValue("$source", source);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public async ValueTask<IReadOnlyList<AppendStatus>> AppendAsync(IReadOnlyList<Event> events, string source, string? cursor, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return await WriteAsync((connection, transaction, commands) =>
        {
            var statuses = new AppendStatus[events.Count];
            for (var i = 0; i < events.Count; i++) statuses[i] = Append(commands, events[i], now);
            using var save = connection.CreateCommand();
            save.Transaction = transaction;
            save.CommandText = """
                INSERT INTO cursors(source, cursor, updated_at) VALUES ($source, $cursor, $now)
                ON CONFLICT(source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at
                """;
            save.Parameters.AddWithValue("$source", source);
            save.Parameters.AddWithValue("$cursor", (object?)cursor ?? DBNull.Value);
            save.Parameters.AddWithValue("$now", now);
            save.ExecuteNonQuery();
            return (IReadOnlyList<AppendStatus>)statuses;
        }, cancellationToken).ConfigureAwait(false);
    }
}
