using Lockstep.Events;
using Lockstep.Records;
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
            for (var i = 0; i < events.Count; i++) statuses[i] = AppendPolled(commands, source, events[i], now);
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
        }, cancellationToken, fenced: true).ConfigureAwait(false);
    }

    /// <summary>Stores a polled item as <see cref="PollRules"/> decides (a re-read, a change, or a change behind in version).</summary>
    private AppendStatus AppendPolled(Commands commands, string source, Event e, long now)
    {
        var last = Report(commands.LastReport.With(e.Entity, e.Key, source + ":"), e.Entity);
        var decision = PollRules.Decide(e, id => Report(commands.EventContent.With(id), e.Entity), last,
            () => commands.RecordVersion.With(e.Entity, e.Key).ExecuteScalar() is long v ? v : null);
        if (decision.Append is not { } append) return AppendStatus.Duplicate;
        var status = Append(commands, append, now);
        return decision.Reordered && status == AppendStatus.Accepted ? AppendStatus.Reordered : status;
    }

    private SourceReport? Report(Microsoft.Data.Sqlite.SqliteCommand query, string entity)
    {
        using var reader = query.ExecuteReader();
        if (!reader.Read()) return null;
        return new SourceReport(reader.GetInt64(0), (RecordOp)reader.GetInt64(1), Open(entity, reader.IsDBNull(2) ? null : reader.GetString(2)));
    }

    public async ValueTask<IReadOnlyList<ProducedRecord>> ListProducedAsync(string source, ProducedRecord? after, int limit, CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        // A source's event ids start with "source:" (ItemMapper); the record's current event says who changed it last.
        command.CommandText = """
            SELECT r.entity, r.key, r.version FROM records r JOIN events e ON e.seq = r.event_seq
            WHERE r.op = 0 AND substr(e.id, 1, length($prefix)) = $prefix AND (r.entity, r.key) > ($entity, $key)
            ORDER BY r.entity, r.key LIMIT $limit
            """;
        command.Parameters.AddWithValue("$prefix", source + ":");
        command.Parameters.AddWithValue("$entity", after?.Entity ?? "");
        command.Parameters.AddWithValue("$key", after?.Key ?? "");
        command.Parameters.AddWithValue("$limit", limit);
        var records = new List<ProducedRecord>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) records.Add(new ProducedRecord(reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        return records;
    }
}
