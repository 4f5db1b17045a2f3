using Microsoft.Data.Sqlite;

namespace Lockstep.Storage.Sqlite;

/// <summary>The write connection's statements, built once and reused (SQLite keeps them prepared) across batches.</summary>
internal sealed class Commands : IDisposable
{
    private readonly List<SqliteCommand> _all = [];

    public Commands(SqliteConnection connection, IReadOnlyDictionary<string, string> flowSystems)
    {
        _connection = connection;
        SyncOff = Make(connection, "PRAGMA synchronous=OFF");
        SyncFull = Make(connection, "PRAGMA synchronous=FULL");
        EventExists = Make(connection, "SELECT 1 FROM events WHERE id = $id", "$id");
        RecordVersion = Make(connection, "SELECT version FROM records WHERE entity = $entity AND key = $key", "$entity", "$key");
        EventContent = Make(connection, "SELECT version, op, data FROM events WHERE id = $id", "$id");
        LastReport = Make(connection, """
            SELECT version, op, data FROM events WHERE entity = $entity AND key = $key AND substr(id, 1, length($prefix)) = $prefix
            ORDER BY seq DESC LIMIT 1
            """, "$entity", "$key", "$prefix");
        InsertEvent = Make(connection, """
            INSERT INTO events(id, type, entity, key, version, op, data, received_at, status, flows, completion, traceparent)
            VALUES ($id, $type, $entity, $key, $version, $op, $data, $now, $status, $flows, $completion, $trace) RETURNING seq
            """, "$id", "$type", "$entity", "$key", "$version", "$op", "$data", "$now", "$status", "$flows", "$completion", "$trace");
        UpsertRecord = Make(connection, """
            INSERT INTO records(entity, key, version, op, event_seq) VALUES ($entity, $key, $version, $op, $seq)
            ON CONFLICT(entity, key) DO UPDATE SET version = excluded.version, op = excluded.op, event_seq = excluded.event_seq
            """, "$entity", "$key", "$version", "$op", "$seq");
        // A newer version replaces the one waiting; a delivered or dead row becomes pending again with fresh attempts.
        // An in-flight row keeps its state: when its attempt completes it sees the newer version and stays pending.
        RouteDelivery = Make(connection, """
            INSERT INTO deliveries(flow, system, entity, key, version, event_seq, version_at, state, due_at, pending_since)
            VALUES ($flow, $system, $entity, $key, $version, $seq, $now, 0, $now, $now)
            ON CONFLICT(flow, entity, key) DO UPDATE SET
                version = excluded.version, event_seq = excluded.event_seq, version_at = excluded.version_at,
                state = CASE WHEN state IN (2, 3) THEN 0 ELSE state END,
                due_at = CASE WHEN state IN (2, 3) THEN excluded.due_at ELSE due_at END,
                attempts = CASE WHEN state IN (2, 3) THEN 0 ELSE attempts END,
                pending_since = COALESCE(CASE WHEN state IN (2, 3) THEN NULL ELSE pending_since END, excluded.pending_since)
            WHERE excluded.version > deliveries.version
            """, "$flow", "$system", "$entity", "$key", "$version", "$seq", "$now");
        LoadEvent = Make(connection, "SELECT id, type, op, data, traceparent FROM events WHERE seq = $seq", "$seq");
        MarkClaimed = Make(connection, "UPDATE deliveries SET state = 1, claim_epoch = $epoch WHERE id IN (SELECT value FROM json_each($ids))", "$ids", "$epoch");
        ReadLease = Make(connection, "SELECT epoch, owner FROM leases WHERE name = $name", "$name");
        AnyDeadLetter = Make(connection, "SELECT EXISTS(SELECT 1 FROM dead_letters)");
        InsertAttempt = Make(connection, """
            INSERT INTO attempts(flow, entity, key, version, attempt, started_at, duration_us, outcome, status_code, error)
            VALUES ($flow, $entity, $key, $version, $attempt, $started, $duration, $outcome, $status, $error)
            """, "$flow", "$entity", "$key", "$version", "$attempt", "$started", "$duration", "$outcome", "$status", "$error");
        MarkDelivered = Make(connection, """
            UPDATE deliveries SET delivered_version = MAX(delivered_version, $version), attempts = 0, last_error = NULL, repair = 0,
                state = CASE WHEN version > MAX(delivered_version, $version) THEN 0 ELSE 2 END, due_at = $now,
                pending_since = CASE WHEN version > MAX(delivered_version, $version) THEN version_at ELSE NULL END
            WHERE id = $id
            """, "$id", "$version", "$now");
        ResolveDeadLetters = Make(connection,
            "DELETE FROM dead_letters WHERE flow = $flow AND entity = $entity AND key = $key AND version <= $version",
            "$flow", "$entity", "$key", "$version");
        MarkRetry = Make(connection,
            "UPDATE deliveries SET state = CASE WHEN version <= delivered_version AND repair = 0 THEN 2 ELSE 0 END, attempts = attempts + 1, due_at = $due, last_error = $error WHERE id = $id",
            "$id", "$due", "$error");
        MarkDead = Make(connection, """
            UPDATE deliveries SET state = CASE WHEN version > $version THEN 0 ELSE 3 END, attempts = 0, due_at = $now, last_error = $error,
                pending_since = CASE WHEN version > $version THEN version_at ELSE NULL END
            WHERE id = $id
            """, "$id", "$version", "$now", "$error");
        InsertDeadLetter = Make(connection, """
            INSERT INTO dead_letters(flow, system, entity, key, version, event_id, event_type, attempts, status_code, error, dead_at)
            VALUES ($flow, $system, $entity, $key, $version, $eventId, $eventType, $attempts, $status, $error, $now)
            """, "$flow", "$system", "$entity", "$key", "$version", "$eventId", "$eventType", "$attempts", "$status", "$error", "$now");
        MarkDeferred = Make(connection, "UPDATE deliveries SET state = 0, due_at = $due WHERE id = $id", "$id", "$due");
        OpenEvents = Make(connection, """
            SELECT seq, id, type, version, flows, completion FROM events
            WHERE entity = $entity AND key = $key AND completion IN (1, 3) ORDER BY version
            """, "$entity", "$key");
        DeliveredVersion = Make(connection,
            "SELECT delivered_version FROM deliveries WHERE flow = $flow AND entity = $entity AND key = $key", "$flow", "$entity", "$key");
        SetCompletion = Make(connection, "UPDATE events SET completion = $completion WHERE seq = $seq", "$seq", "$completion");
        UpsertStats = Make(connection, """
            INSERT INTO flow_stats(flow, delivered, failed, last_success_at, last_failure_at, last_error)
            VALUES ($flow, $delivered, $failed, $success, $failure, $error)
            ON CONFLICT(flow) DO UPDATE SET delivered = delivered + excluded.delivered, failed = failed + excluded.failed,
                last_success_at = COALESCE(excluded.last_success_at, last_success_at),
                last_failure_at = COALESCE(excluded.last_failure_at, last_failure_at),
                last_error = CASE WHEN excluded.last_failure_at IS NULL THEN last_error ELSE excluded.last_error END
            """, "$flow", "$delivered", "$failed", "$success", "$failure", "$error");
        RecordData = Make(connection, """
            SELECT r.version, r.op, e.data FROM records r JOIN events e ON e.seq = r.event_seq WHERE r.entity = $entity AND r.key = $key
            """, "$entity", "$key");
        SyncLoad = Make(connection, """
            SELECT base, base_op, source_hash, target_hash, source_pending, target_pending, source_seen, target_seen FROM sync_state
            WHERE pair = $pair AND entity = $entity AND key = $key
            """, "$pair", "$entity", "$key");
        SyncSave = Make(connection, """
            INSERT INTO sync_state(pair, entity, key, base, base_op, source_hash, target_hash, source_pending, target_pending, source_seen, target_seen)
            VALUES ($pair, $entity, $key, $base, $baseOp, $sourceHash, $targetHash, $sourcePending, $targetPending, $sourceSeen, $targetSeen)
            ON CONFLICT(pair, entity, key) DO UPDATE SET base = excluded.base, base_op = excluded.base_op, source_hash = excluded.source_hash,
                target_hash = excluded.target_hash, source_pending = excluded.source_pending, target_pending = excluded.target_pending,
                source_seen = excluded.source_seen, target_seen = excluded.target_seen
            """, "$pair", "$entity", "$key", "$base", "$baseOp", "$sourceHash", "$targetHash", "$sourcePending", "$targetPending", "$sourceSeen", "$targetSeen");
        OpenConflict = Make(connection,
            "SELECT id FROM conflicts WHERE pair = $pair AND entity = $entity AND key = $key AND outcome = 'open'", "$pair", "$entity", "$key");
        // The origin side already holds this version: recorded as delivered there, so it is never sent back (no echo).
        // A row in flight keeps its state; when it completes, delivered_version says the target already holds the newest.
        Absorb = Make(connection, """
            INSERT INTO deliveries(flow, system, entity, key, version, event_seq, version_at, state, due_at, delivered_version)
            VALUES ($flow, $system, $entity, $key, $version, $seq, $now, 2, $now, $version)
            ON CONFLICT(flow, entity, key) DO UPDATE SET
                version = excluded.version, event_seq = excluded.event_seq, version_at = excluded.version_at,
                delivered_version = excluded.version,
                state = CASE WHEN state = 1 THEN 1 ELSE 2 END,
                attempts = CASE WHEN state = 1 THEN attempts ELSE 0 END,
                pending_since = CASE WHEN state = 1 THEN pending_since ELSE NULL END,
                last_error = CASE WHEN state = 1 THEN last_error ELSE NULL END
            WHERE excluded.version > deliveries.version
            """, "$flow", "$system", "$entity", "$key", "$version", "$seq", "$now");

        foreach (var system in flowSystems.Values.Distinct(StringComparer.Ordinal))
        {
            var flows = flowSystems.Where(f => f.Value == system).Select(f => f.Key).ToList();
            var names = string.Join(", ", flows.Select((_, i) => $"$f{i}"));
            // Due rows with their event in one read; MarkClaimed then flags them all in one statement.
            var claim = Make(connection, $"""
                SELECT d.id, d.flow, d.entity, d.key, d.version, d.attempts, d.repair, e.id, e.type, e.op, e.data, e.traceparent
                FROM deliveries d JOIN events e ON e.seq = d.event_seq
                WHERE d.system = $system AND d.state = 0 AND d.due_at <= $now AND d.flow IN ({names})
                  AND NOT EXISTS (SELECT 1 FROM held h WHERE h.flow = d.flow AND h.entity = d.entity AND h.key = d.key)
                ORDER BY d.due_at LIMIT $max
                """, "$system", "$now", "$max");
            var next = Make(connection,
                $"SELECT MIN(due_at) FROM deliveries d WHERE system = $system AND state = 0 AND flow IN ({names}) AND NOT EXISTS (SELECT 1 FROM held h WHERE h.flow = d.flow AND h.entity = d.entity AND h.key = d.key)", "$system");
            for (var i = 0; i < flows.Count; i++)
            {
                claim.Parameters.AddWithValue($"$f{i}", flows[i]);
                next.Parameters.AddWithValue($"$f{i}", flows[i]);
            }
            claim.Parameters["$system"].Value = system;
            next.Parameters["$system"].Value = system;
            Claim[system] = claim;
            NextDue[system] = next;
        }
    }

    public SqliteCommand SyncOff { get; }
    public SqliteCommand SyncFull { get; }
    public SqliteCommand EventExists { get; }

    public SqliteCommand RecordVersion { get; }
    public SqliteCommand InsertEvent { get; }
    public SqliteCommand UpsertRecord { get; }
    public SqliteCommand RouteDelivery { get; }
    public SqliteCommand LoadEvent { get; }
    public SqliteCommand MarkClaimed { get; }
    public SqliteCommand ReadLease { get; }
    public SqliteCommand AnyDeadLetter { get; }
    public SqliteCommand InsertAttempt { get; }
    public SqliteCommand MarkDelivered { get; }
    public SqliteCommand ResolveDeadLetters { get; }
    public SqliteCommand MarkRetry { get; }
    public SqliteCommand MarkDead { get; }
    public SqliteCommand InsertDeadLetter { get; }
    public SqliteCommand MarkDeferred { get; }
    public SqliteCommand OpenEvents { get; }
    public SqliteCommand DeliveredVersion { get; }
    public SqliteCommand SetCompletion { get; }
    public SqliteCommand UpsertStats { get; }
    public SqliteCommand RecordData { get; }
    public SqliteCommand EventContent { get; }
    /// <summary>The newest event a source (by its id prefix) reported for a record, whatever the journal did with it.</summary>
    public SqliteCommand LastReport { get; }
    public SqliteCommand SyncLoad { get; }
    public SqliteCommand SyncSave { get; }
    public SqliteCommand OpenConflict { get; }
    public SqliteCommand Absorb { get; }
    public Dictionary<string, SqliteCommand> Claim { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, SqliteCommand> NextDue { get; } = new(StringComparer.Ordinal);

    private readonly SqliteConnection _connection;
    private SqliteTransaction? _transaction;

    /// <summary>A one-off statement in the current transaction, for rare paths (conflicts) not worth keeping prepared.</summary>
    public SqliteCommand Once(string sql)
    {
        var command = _connection.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = sql;
        return command;
    }

    public void Enlist(SqliteTransaction? transaction)
    {
        _transaction = transaction;
        foreach (var command in _all) command.Transaction = transaction;
    }

    public void Dispose()
    {
        foreach (var command in _all) command.Dispose();
    }

    private SqliteCommand Make(SqliteConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters) command.Parameters.Add(new SqliteParameter(name, null));
        _all.Add(command);
        return command;
    }
}

/// <summary>Sets a statement's parameters by position, in the order they were declared.</summary>
internal static class CommandExtensions
{
    public static SqliteCommand With(this SqliteCommand command, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i] ?? DBNull.Value;
        return command;
    }
}
