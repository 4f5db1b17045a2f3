using Lockstep.Deliveries;
using Lockstep.Journal;
using Lockstep.Status;

namespace Lockstep.Storage.Sqlite;

public sealed partial class SqliteJournal
{
    public async ValueTask<IReadOnlyList<FlowCounters>> CountersAsync(CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        var rows = new Dictionary<string, (long Pending, long InFlight, long? Since, long Dead, long Delivered, long? Success, long? Failure, string? Error)>(StringComparer.Ordinal);
        foreach (var flow in _flowSystems.Keys) rows[flow] = default;
        using (var command = connection.CreateCommand())
        {
            // One read transaction, so the three views agree.
            command.CommandText = """
                SELECT flow, SUM(state = 0), SUM(state = 1), MIN(CASE WHEN state IN (0, 1) THEN pending_since END) FROM deliveries GROUP BY flow;
                SELECT flow, COUNT(*) FROM dead_letters GROUP BY flow;
                SELECT flow, delivered, last_success_at, last_failure_at, last_error FROM flow_stats;
                """;
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
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
        return rows.Select(kv => new FlowCounters(kv.Key, _flowSystems[kv.Key], kv.Value.Pending, kv.Value.InFlight, kv.Value.Delivered, kv.Value.Dead,
            Time(kv.Value.Since), Time(kv.Value.Success), Time(kv.Value.Failure), kv.Value.Error)).ToList();
    }

    public async ValueTask<EventView?> GetEventAsync(string id, CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT type, entity, key, version, op, data, received_at, status, flows FROM events WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        string type, entity, key, op, status;
        string? data, flowList;
        long version, receivedAt;
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
            type = reader.GetString(0);
            entity = reader.GetString(1);
            key = reader.GetString(2);
            version = reader.GetInt64(3);
            op = reader.GetInt64(4) == 1 ? "delete" : "upsert";
            data = reader.IsDBNull(5) ? null : reader.GetString(5);
            receivedAt = reader.GetInt64(6);
            status = EventStatusName(reader.GetInt64(7));
            flowList = reader.IsDBNull(8) ? null : reader.GetString(8);
        }

        var flows = new List<EventFlowView>();
        foreach (var flow in flowList?.Split('\n') ?? [])
        {
            var attempts = new List<AttemptView>();
            command.Parameters.Clear();
            command.CommandText = """
                SELECT version, attempt, started_at, duration_us, outcome, status_code, error FROM attempts
                WHERE entity = $entity AND key = $key AND flow = $flow ORDER BY id
                """;
            command.Parameters.AddWithValue("$entity", entity);
            command.Parameters.AddWithValue("$key", key);
            command.Parameters.AddWithValue("$flow", flow);
            using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (reader.GetInt64(0) != version) continue;
                    attempts.Add(new AttemptView(reader.GetInt64(0), reader.GetInt32(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
                        reader.GetInt64(3) / 1000.0, OutcomeName((CompletionKind)reader.GetInt64(4)),
                        reader.IsDBNull(5) ? null : reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetString(6)));
                }
            }
            command.Parameters.Clear();
            command.CommandText = """
                SELECT d.state, d.delivered_version, d.version,
                       EXISTS(SELECT 1 FROM dead_letters x WHERE x.flow = d.flow AND x.entity = d.entity AND x.key = d.key AND x.version = $version)
                FROM deliveries d WHERE d.flow = $flow AND d.entity = $entity AND d.key = $key
                """;
            command.Parameters.AddWithValue("$entity", entity);
            command.Parameters.AddWithValue("$key", key);
            command.Parameters.AddWithValue("$flow", flow);
            command.Parameters.AddWithValue("$version", version);
            var state = "pending";
            using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var rowState = reader.GetInt64(0);
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

    private static string OutcomeName(CompletionKind kind) => kind switch
    {
        CompletionKind.Delivered => "delivered",
        CompletionKind.Skipped => "skipped",
        CompletionKind.Retry => "retry",
        CompletionKind.Dead => "dead",
        _ => "deferred",
    };

    private static DateTimeOffset? Time(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;
}
