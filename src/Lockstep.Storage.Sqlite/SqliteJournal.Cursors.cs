using Lockstep.Events;
using Lockstep.Sources;

namespace Lockstep.Storage.Sqlite;

public sealed partial class SqliteJournal : ICursorStore
{
    public async ValueTask<SourcePosition> ReadPositionAsync(string source, CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT cursor, next_page FROM cursors WHERE source = $source";
        command.Parameters.AddWithValue("$source", source);
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return new SourcePosition(null, null);
        return new SourcePosition(reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    public async ValueTask<IReadOnlyList<AppendStatus>> AppendAsync(IReadOnlyList<Event> events, string source, SourcePosition position, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return await WriteAsync((connection, transaction, commands) =>
        {
            var statuses = new AppendStatus[events.Count];
            for (var i = 0; i < events.Count; i++) statuses[i] = Append(commands, events[i], now);
            using var save = connection.CreateCommand();
            save.Transaction = transaction;
            save.CommandText = """
                INSERT INTO cursors(source, cursor, next_page, updated_at) VALUES ($source, $cursor, $page, $now)
                ON CONFLICT(source) DO UPDATE SET cursor = excluded.cursor, next_page = excluded.next_page, updated_at = excluded.updated_at
                """;
            save.Parameters.AddWithValue("$source", source);
            save.Parameters.AddWithValue("$cursor", (object?)position.Cursor ?? DBNull.Value);
            save.Parameters.AddWithValue("$page", (object?)position.NextPage ?? DBNull.Value);
            save.Parameters.AddWithValue("$now", now);
            save.ExecuteNonQuery();
            return (IReadOnlyList<AppendStatus>)statuses;
        }, cancellationToken).ConfigureAwait(false);
    }
}
