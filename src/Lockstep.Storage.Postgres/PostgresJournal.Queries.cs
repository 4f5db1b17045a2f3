using Lockstep.Deliveries;
using Lockstep.Journal;
using Lockstep.Status;
using Npgsql;

namespace Lockstep.Storage.Postgres;

public sealed partial class PostgresJournal
{
    public async ValueTask<IReadOnlyList<FlowCounters>> CountersAsync(CancellationToken cancellationToken)
    {
        var rows = new Dictionary<string, (long Pending, long InFlight, long? Since, long Dead, long Delivered, long? Success, long? Failure, string? Error)>(StringComparer.Ordinal);
        foreach (var flow in _flowSystems.Keys) rows[flow] = default;
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        // One snapshot, so the three views agree.
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection, transaction);
        Batch(batch, "SELECT flow, COUNT(*) FILTER (WHERE state = 0), COUNT(*) FILTER (WHERE state = 1), MIN(pending_since) FILTER (WHERE state IN (0, 1)) FROM @.deliveries GROUP BY flow");
        Batch(batch, "SELECT flow, COUNT(*) FROM @.dead_letters GROUP BY flow");
        Batch(batch, "SELECT flow, delivered, last_success_at, last_failure_at, last_error FROM @.flow_stats");
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!rows.TryGetValue(reader.GetString(0), out var r)) continue;
                rows[reader.GetString(0)] = r with { Pending = reader.GetInt64(1), InFlight = reader.GetInt64(2), Since = reader.IsDBNull(3) ? null : reader.GetInt64(3) };
            }
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (rows.TryGetValue(reader.GetString(0), out var r)) rows[reader.GetString(0)] = r with { Dead = reader.GetInt64(1) };
            }
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!rows.TryGetValue(reader.GetString(0), out var r)) continue;
                rows[reader.GetString(0)] = r with
                {
                    Delivered = reader.GetInt64(1),
                    Success = reader.IsDBNull(2) ? null : reader.GetInt64(2),
                    Failure = reader.IsDBNull(3) ? null : reader.GetInt64(3),
                    Error = reader.IsDBNull(4) ? null : reader.GetString(4),
                };
            }
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return rows.Select(kv => new FlowCounters(kv.Key, _flowSystems[kv.Key], kv.Value.Pending, kv.Value.InFlight, kv.Value.Delivered, kv.Value.Dead,
            Time(kv.Value.Since), Time(kv.Value.Success), Time(kv.Value.Failure), kv.Value.Error)).ToList();
    }

    public async ValueTask<EventView?> GetEventAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        string type, entity, key, op, status;
        string? data, flowList;
        long version, receivedAt;
        await using (var command = Command("SELECT type, entity, key, version, op, data, received_at, status, flows FROM @.events WHERE id = @id", connection))
        {
            command.Parameters.AddWithValue("id", id);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
            type = reader.GetString(0);
            entity = reader.GetString(1);
            key = reader.GetString(2);
            version = reader.GetInt64(3);
            op = reader.GetInt16(4) == 1 ? "delete" : "upsert";
            data = reader.IsDBNull(5) ? null : reader.GetString(5);
            receivedAt = reader.GetInt64(6);
            status = EventStatusName(reader.GetInt16(7));
            flowList = reader.IsDBNull(8) ? null : reader.GetString(8);
        }

        var flows = new List<EventFlowView>();
        foreach (var flow in flowList?.Split('\n') ?? [])
        {
            var attempts = new List<AttemptView>();
            await using (var command = Command("""
                SELECT version, attempt, started_at, duration_us, outcome, status_code, error FROM @.attempts
                WHERE entity = @entity AND key = @key AND flow = @flow AND version = @version ORDER BY id
                """, connection))
            {
                command.Parameters.AddWithValue("entity", entity);
                command.Parameters.AddWithValue("key", key);
                command.Parameters.AddWithValue("flow", flow);
                command.Parameters.AddWithValue("version", version);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) attempts.Add(ReadAttempt(reader, 0));
            }
            var state = "pending";
            await using (var command = Command("""
                SELECT d.state, d.delivered_version, d.version,
                       EXISTS(SELECT 1 FROM @.dead_letters x WHERE x.flow = d.flow AND x.entity = d.entity AND x.key = d.key AND x.version = @version)
                FROM @.deliveries d WHERE d.flow = @flow AND d.entity = @entity AND d.key = @key
                """, connection))
            {
                command.Parameters.AddWithValue("entity", entity);
                command.Parameters.AddWithValue("key", key);
                command.Parameters.AddWithValue("flow", flow);
                command.Parameters.AddWithValue("version", version);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var rowState = reader.GetInt16(0);
                    var delivered = reader.GetInt64(1);
                    var rowVersion = reader.GetInt64(2);
                    state = attempts.Any(a => a.Outcome == "delivered") ? "delivered"
                        : attempts.Any(a => a.Outcome == "skipped") ? "skipped"
                        : reader.GetBoolean(3) ? "dead"
                        : delivered >= version || rowVersion > version ? "superseded"
                        : rowState == 1 ? "in flight"
                        : attempts.Count > 0 ? "retrying"
                        : "pending";
                }
            }
            flows.Add(new EventFlowView(flow, state, attempts));
        }
        return new EventView(id, type, entity, key, version, op, status, DateTimeOffset.FromUnixTimeMilliseconds(receivedAt), data, flows);
    }

    public async ValueTask<RecordHistory> RecordHistoryAsync(string entity, string key, CancellationToken cancellationToken)
    {
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        var versions = new List<RecordVersionView>();
        await using (var command = Command("SELECT id, type, version, op, status, received_at FROM @.events WHERE entity = @entity AND key = @key ORDER BY version, seq", connection))
        {
            command.Parameters.AddWithValue("entity", entity);
            command.Parameters.AddWithValue("key", key);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                versions.Add(new RecordVersionView(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt16(3) == 1 ? "delete" : "upsert",
                    EventStatusName(reader.GetInt16(4)), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
            }
        }
        var flows = new SortedDictionary<string, List<AttemptView>>(StringComparer.Ordinal);
        await using (var command = Command("""
            SELECT version, attempt, started_at, duration_us, outcome, status_code, error, flow FROM @.attempts
            WHERE entity = @entity AND key = @key ORDER BY id
            """, connection))
        {
            command.Parameters.AddWithValue("entity", entity);
            command.Parameters.AddWithValue("key", key);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!flows.TryGetValue(reader.GetString(7), out var list)) flows[reader.GetString(7)] = list = [];
                list.Add(ReadAttempt(reader, 0));
            }
        }
        return new RecordHistory(entity, key, versions, flows.ToDictionary(f => f.Key, f => (IReadOnlyList<AttemptView>)f.Value, StringComparer.Ordinal));
    }

    public async ValueTask AuditAsync(string actor, string action, string? target, string? detail, DateTimeOffset at, CancellationToken cancellationToken) =>
        await WriteAsync(async (connection, transaction) =>
        {
            await using var insert = Command("INSERT INTO @.audit(at, actor, action, target, detail) VALUES (@at, @actor, @action, @target, @detail)", connection, transaction);
            insert.Parameters.AddWithValue("at", at.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("actor", actor);
            insert.Parameters.AddWithValue("action", action);
            insert.Parameters.AddWithValue("target", NpgsqlTypes.NpgsqlDbType.Text, Db(target));
            insert.Parameters.AddWithValue("detail", NpgsqlTypes.NpgsqlDbType.Text, Db(detail));
            return await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<AuditEntry>> AuditLogAsync(int limit, CancellationToken cancellationToken)
    {
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command("SELECT id, at, actor, action, target, detail FROM @.audit ORDER BY id DESC LIMIT @limit", connection);
        command.Parameters.AddWithValue("limit", limit);
        var list = new List<AuditEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new AuditEntry(reader.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5)));
        }
        return list;
    }

    private static AttemptView ReadAttempt(NpgsqlDataReader reader, int first) =>
        new(reader.GetInt64(first), reader.GetInt32(first + 1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(first + 2)),
            reader.GetInt64(first + 3) / 1000.0, OutcomeName((CompletionKind)reader.GetInt16(first + 4)),
            reader.IsDBNull(first + 5) ? null : reader.GetInt32(first + 5), reader.IsDBNull(first + 6) ? null : reader.GetString(first + 6));

    private static string OutcomeName(CompletionKind kind) => kind switch
    {
        CompletionKind.Delivered => "delivered",
        CompletionKind.Skipped => "skipped",
        CompletionKind.Retry => "retry",
        CompletionKind.Dead => "dead",
        _ => "deferred",
    };

    /// <summary>How an event's status column reads in views: 0 accepted, 2 stale, 3 echo (two-way), 4 conflict (two-way).</summary>
    private static string EventStatusName(long status) => status switch
    {
        2 => "stale",
        3 => "echo",
        4 => "conflict",
        _ => "accepted",
    };

    private static DateTimeOffset? Time(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;
}
