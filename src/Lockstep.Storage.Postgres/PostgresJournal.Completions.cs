using Lockstep.Deliveries;
using Npgsql;
using NpgsqlTypes;

namespace Lockstep.Storage.Postgres;

public sealed partial class PostgresJournal
{
    /// <summary>
    /// Commits a batch of outcomes in one transaction: attempts, the new state of each delivery, dead letters, counters —
    /// each a statement over arrays — then the completion events they decide.
    /// </summary>
    public async ValueTask CompleteAsync(IReadOnlyList<DeliveryCompletion> completions, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (completions.Count == 0) return;
        await WriteAsync(async (connection, transaction) =>
        {
            await using (var batch = new NpgsqlBatch(connection, transaction))
            {
                var tried = completions.Where(c => c.Kind != CompletionKind.Deferred).ToList();
                if (tried.Count > 0)
                {
                    var attempts = Batch(batch, """
                        INSERT INTO @.attempts(flow, entity, key, version, attempt, started_at, duration_us, outcome, status_code, error)
                        SELECT * FROM unnest(@flow, @entity, @key, @version, @attempt, @started, @duration, @outcome, @status, @error)
                        """);
                    attempts.Parameters.AddWithValue("flow", tried.Select(c => c.Delivery.Flow).ToArray());
                    attempts.Parameters.AddWithValue("entity", tried.Select(c => c.Delivery.Entity).ToArray());
                    attempts.Parameters.AddWithValue("key", tried.Select(c => c.Delivery.Key).ToArray());
                    attempts.Parameters.AddWithValue("version", tried.Select(c => c.Delivery.Version).ToArray());
                    attempts.Parameters.AddWithValue("attempt", tried.Select(c => c.Delivery.Attempt).ToArray());
                    attempts.Parameters.AddWithValue("started", tried.Select(c => c.StartedAt.ToUnixTimeMilliseconds()).ToArray());
                    attempts.Parameters.AddWithValue("duration", tried.Select(c => c.Duration.Ticks / 10).ToArray());
                    attempts.Parameters.AddWithValue("outcome", tried.Select(c => (short)c.Kind).ToArray());
                    attempts.Parameters.Add(new NpgsqlParameter("status", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = tried.Select(c => c.StatusCode).ToArray() });
                    attempts.Parameters.Add(new NpgsqlParameter("error", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = tried.Select(c => c.Error).ToArray() });
                }
                var done = completions.Where(c => c.Kind is CompletionKind.Delivered or CompletionKind.Skipped).ToList();
                if (done.Count > 0)
                {
                    // Delivered: a newer version routed meanwhile stays pending (from when it was routed), else the row is settled.
                    var delivered = Batch(batch, """
                        UPDATE @.deliveries d SET delivered_version = GREATEST(d.delivered_version, u.version), attempts = 0, last_error = NULL, repair = 0,
                            state = CASE WHEN d.version > GREATEST(d.delivered_version, u.version) THEN 0 ELSE 2 END, due_at = @now,
                            pending_since = CASE WHEN d.version > GREATEST(d.delivered_version, u.version) THEN d.version_at ELSE NULL END
                        FROM unnest(@id, @version) AS u(id, version) WHERE d.id = u.id
                        """);
                    delivered.Parameters.AddWithValue("id", done.Select(c => c.Delivery.Id).ToArray());
                    delivered.Parameters.AddWithValue("version", done.Select(c => c.Delivery.Version).ToArray());
                    delivered.Parameters.AddWithValue("now", now);
                    var resolve = Batch(batch, """
                        DELETE FROM @.dead_letters x USING unnest(@flow, @entity, @key, @version) AS u(flow, entity, key, version)
                        WHERE x.flow = u.flow AND x.entity = u.entity AND x.key = u.key AND x.version <= u.version
                        """);
                    resolve.Parameters.AddWithValue("flow", done.Select(c => c.Delivery.Flow).ToArray());
                    resolve.Parameters.AddWithValue("entity", done.Select(c => c.Delivery.Entity).ToArray());
                    resolve.Parameters.AddWithValue("key", done.Select(c => c.Delivery.Key).ToArray());
                    resolve.Parameters.AddWithValue("version", done.Select(c => c.Delivery.Version).ToArray());
                }
                var retries = completions.Where(c => c.Kind == CompletionKind.Retry).ToList();
                if (retries.Count > 0)
                {
                    var retry = Batch(batch, """
                        UPDATE @.deliveries d SET state = CASE WHEN d.version <= d.delivered_version AND d.repair = 0 THEN 2 ELSE 0 END,
                            attempts = d.attempts + 1, due_at = u.due, last_error = u.error
                        FROM unnest(@id, @due, @error) AS u(id, due, error) WHERE d.id = u.id
                        """);
                    retry.Parameters.AddWithValue("id", retries.Select(c => c.Delivery.Id).ToArray());
                    retry.Parameters.AddWithValue("due", retries.Select(c => c.DueAt.ToUnixTimeMilliseconds()).ToArray());
                    retry.Parameters.Add(new NpgsqlParameter("error", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = retries.Select(c => c.Error).ToArray() });
                }
                var dead = completions.Where(c => c.Kind == CompletionKind.Dead).ToList();
                if (dead.Count > 0)
                {
                    var letters = Batch(batch, """
                        INSERT INTO @.dead_letters(flow, system, entity, key, version, event_id, event_type, attempts, status_code, error, dead_at)
                        SELECT flow, system, entity, key, version, event_id, event_type, attempts, status, error, @now
                        FROM unnest(@flow, @system, @entity, @key, @version, @eventId, @eventType, @attempts, @status, @error)
                            AS u(flow, system, entity, key, version, event_id, event_type, attempts, status, error)
                        """);
                    letters.Parameters.AddWithValue("flow", dead.Select(c => c.Delivery.Flow).ToArray());
                    letters.Parameters.AddWithValue("system", dead.Select(c => c.Delivery.System).ToArray());
                    letters.Parameters.AddWithValue("entity", dead.Select(c => c.Delivery.Entity).ToArray());
                    letters.Parameters.AddWithValue("key", dead.Select(c => c.Delivery.Key).ToArray());
                    letters.Parameters.AddWithValue("version", dead.Select(c => c.Delivery.Version).ToArray());
                    letters.Parameters.AddWithValue("eventId", dead.Select(c => c.Delivery.EventId).ToArray());
                    letters.Parameters.AddWithValue("eventType", dead.Select(c => c.Delivery.EventType).ToArray());
                    letters.Parameters.AddWithValue("attempts", dead.Select(c => c.Delivery.Attempt).ToArray());
                    letters.Parameters.Add(new NpgsqlParameter("status", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = dead.Select(c => c.StatusCode).ToArray() });
                    letters.Parameters.Add(new NpgsqlParameter("error", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = dead.Select(c => c.Error).ToArray() });
                    letters.Parameters.AddWithValue("now", now);
                    var mark = Batch(batch, """
                        UPDATE @.deliveries d SET state = CASE WHEN d.version > u.version THEN 0 ELSE 3 END, attempts = 0, due_at = @now, last_error = u.error,
                            pending_since = CASE WHEN d.version > u.version THEN d.version_at ELSE NULL END
                        FROM unnest(@id, @version, @error) AS u(id, version, error) WHERE d.id = u.id
                        """);
                    mark.Parameters.AddWithValue("id", dead.Select(c => c.Delivery.Id).ToArray());
                    mark.Parameters.AddWithValue("version", dead.Select(c => c.Delivery.Version).ToArray());
                    mark.Parameters.Add(new NpgsqlParameter("error", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = dead.Select(c => c.Error).ToArray() });
                    mark.Parameters.AddWithValue("now", now);
                }
                var deferred = completions.Where(c => c.Kind == CompletionKind.Deferred).ToList();
                if (deferred.Count > 0)
                {
                    var defer = Batch(batch, "UPDATE @.deliveries d SET state = 0, due_at = u.due FROM unnest(@id, @due) AS u(id, due) WHERE d.id = u.id");
                    defer.Parameters.AddWithValue("id", deferred.Select(c => c.Delivery.Id).ToArray());
                    defer.Parameters.AddWithValue("due", deferred.Select(c => c.DueAt.ToUnixTimeMilliseconds()).ToArray());
                }
                var stats = completions.Where(c => c.Kind != CompletionKind.Deferred).GroupBy(c => c.Delivery.Flow, StringComparer.Ordinal).Select(g =>
                {
                    var lastFailure = g.LastOrDefault(c => c.Kind is CompletionKind.Retry or CompletionKind.Dead);
                    return (Flow: g.Key, Delivered: (long)g.Count(c => c.Kind == CompletionKind.Delivered), Failed: (long)g.Count(c => c.Kind is CompletionKind.Retry or CompletionKind.Dead),
                        Success: g.Any(c => c.Kind is CompletionKind.Delivered or CompletionKind.Skipped) ? now : (long?)null,
                        Failure: lastFailure is null ? (long?)null : now, Error: lastFailure?.Error);
                }).ToList();
                if (stats.Count > 0)
                {
                    var counters = Batch(batch, """
                        INSERT INTO @.flow_stats AS s(flow, delivered, failed, last_success_at, last_failure_at, last_error)
                        SELECT * FROM unnest(@flow, @delivered, @failed, @success, @failure, @error)
                        ON CONFLICT(flow) DO UPDATE SET delivered = s.delivered + excluded.delivered, failed = s.failed + excluded.failed,
                            last_success_at = COALESCE(excluded.last_success_at, s.last_success_at),
                            last_failure_at = COALESCE(excluded.last_failure_at, s.last_failure_at),
                            last_error = CASE WHEN excluded.last_failure_at IS NULL THEN s.last_error ELSE excluded.last_error END
                        """);
                    counters.Parameters.AddWithValue("flow", stats.Select(s => s.Flow).ToArray());
                    counters.Parameters.AddWithValue("delivered", stats.Select(s => s.Delivered).ToArray());
                    counters.Parameters.AddWithValue("failed", stats.Select(s => s.Failed).ToArray());
                    counters.Parameters.Add(new NpgsqlParameter("success", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = stats.Select(s => s.Success).ToArray() });
                    counters.Parameters.Add(new NpgsqlParameter("failure", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = stats.Select(s => s.Failure).ToArray() });
                    counters.Parameters.Add(new NpgsqlParameter("error", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = stats.Select(s => s.Error).ToArray() });
                }
                if (batch.BatchCommands.Count > 0) await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            if (_rules.CompletionEvents)
                await EmitCompletionsAsync(connection, transaction, completions, now, cancellationToken).ConfigureAwait(false);
            return 0;
        }, cancellationToken, fenced: true).ConfigureAwait(false);
    }

    /// <summary>
    /// The completions <see cref="CompletionRules"/> decides for the records whose outcomes were just written: their tracked
    /// events and delivered versions loaded in one round trip, the decisions and emitted events written as a batch.
    /// </summary>
    private async Task EmitCompletionsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<DeliveryCompletion> completions, long now,
        CancellationToken cancellationToken)
    {
        var settled = completions.Where(c => c.Kind is CompletionKind.Delivered or CompletionKind.Skipped or CompletionKind.Dead).ToList();
        if (settled.Count == 0) return;
        var records = settled.Select(c => (c.Delivery.Entity, c.Delivery.Key)).Distinct().ToList();
        var open = new Dictionary<(string, string), List<TrackedEvent>>();
        var delivered = new Dictionary<(string, string, string), long>();
        await using (var load = new NpgsqlBatch(connection, transaction))
        {
            var tracked = Batch(load, """
                SELECT e.entity, e.key, e.seq, e.id, e.type, e.version, e.flows, e.completion FROM @.events e
                JOIN unnest(@entity, @key) AS k(entity, key) ON e.entity = k.entity AND e.key = k.key
                WHERE e.completion IN (1, 3) ORDER BY e.version
                """);
            tracked.Parameters.AddWithValue("entity", records.Select(r => r.Entity).ToArray());
            tracked.Parameters.AddWithValue("key", records.Select(r => r.Key).ToArray());
            var versions = Batch(load, """
                SELECT d.flow, d.entity, d.key, d.delivered_version FROM @.deliveries d
                JOIN unnest(@entity, @key) AS k(entity, key) ON d.entity = k.entity AND d.key = k.key
                """);
            versions.Parameters.AddWithValue("entity", records.Select(r => r.Entity).ToArray());
            versions.Parameters.AddWithValue("key", records.Select(r => r.Key).ToArray());
            await using var reader = await load.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var record = (reader.GetString(0), reader.GetString(1));
                if (!open.TryGetValue(record, out var list)) open[record] = list = [];
                list.Add(new TrackedEvent(reader.GetInt64(2), reader.GetString(3), reader.GetString(4), reader.GetInt64(5),
                    reader.IsDBNull(6) ? [] : reader.GetString(6).Split('\n'), reader.GetInt16(7) == 3));
            }
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                delivered[(reader.GetString(0), reader.GetString(1), reader.GetString(2))] = reader.GetInt64(3);
        }
        if (open.Count == 0) return;
        var decisions = new List<CompletionDecision>();
        foreach (var c in settled)
        {
            var d = c.Delivery;
            if (!open.TryGetValue((d.Entity, d.Key), out var events) || events.Count == 0) continue;
            var dead = c.Kind == CompletionKind.Dead ? (d.Flow, d.Version, c.Error) : ((string, long, string?)?)null;
            var decided = CompletionRules.Decide(d.Entity, d.Key, events, flow => delivered.TryGetValue((flow, d.Entity, d.Key), out var v) ? v : null, dead);
            foreach (var decision in decided)
            {
                // Settled once: a completed event leaves the open list; a failed one stays (a newer delivery still completes it).
                if (decision.Completed) events.Remove(decision.Tracked);
                else events[events.IndexOf(decision.Tracked)] = decision.Tracked with { Failed = true };
                decisions.Add(decision);
            }
        }
        if (decisions.Count == 0) return;
        await using (var mark = new NpgsqlCommand(Sql("UPDATE @.events e SET completion = u.completion FROM unnest(@seq, @completion) AS u(seq, completion) WHERE e.seq = u.seq"), connection, transaction))
        {
            var last = decisions.GroupBy(d => d.Tracked.Seq).Select(g => g.Any(d => d.Completed) ? (Seq: g.Key, Completion: (short)2) : (Seq: g.Key, Completion: (short)3)).ToList();
            mark.Parameters.AddWithValue("seq", last.Select(l => l.Seq).ToArray());
            mark.Parameters.AddWithValue("completion", last.Select(l => l.Completion).ToArray());
            await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await AppendBatchAsync(connection, transaction, [.. decisions.Select(d => d.Emitted)], now, null, null, cancellationToken).ConfigureAwait(false);
    }

    private NpgsqlBatchCommand Batch(NpgsqlBatch batch, string sql)
    {
        var command = new NpgsqlBatchCommand(Sql(sql));
        batch.BatchCommands.Add(command);
        return command;
    }
}
