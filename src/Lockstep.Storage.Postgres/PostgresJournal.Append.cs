using Lockstep.Events;
using Lockstep.Records;
using Lockstep.Sources;
using Npgsql;
using NpgsqlTypes;

namespace Lockstep.Storage.Postgres;

public sealed partial class PostgresJournal
{
    public async ValueTask<IReadOnlyList<AppendStatus>> AppendAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        // The intake span that commits these events: their deliveries' spans link back to it.
        var trace = System.Diagnostics.Activity.Current is { IdFormat: System.Diagnostics.ActivityIdFormat.W3C } current ? current.Id : null;
        return await WriteAsync((connection, transaction) => AppendBatchAsync(connection, transaction, events, now, trace, null, cancellationToken),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stores a batch inside the caller's transaction as <see cref="Intake.AppendRules"/> (and, for a poll,
    /// <see cref="PollRules"/>) decide: one round trip loads what the batch is decided against, one writes its rows.
    /// </summary>
    private async Task<IReadOnlyList<AppendStatus>> AppendBatchAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<Event> events,
        long now, string? trace, string? source, CancellationToken cancellationToken)
    {
        var state = await LoadAsync(connection, transaction, events, source, cancellationToken).ConfigureAwait(false);
        state.Now = now;
        var statuses = new AppendStatus[events.Count];
        for (var i = 0; i < events.Count; i++)
            statuses[i] = source is null ? Decide(connection, transaction, state, events[i], now, trace) : DecidePolled(connection, transaction, state, source, events[i], now);
        await FlushAsync(connection, transaction, state, cancellationToken).ConfigureAwait(false);
        return statuses;
    }

    private async Task<IntakeState> LoadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<Event> events, string? source, CancellationToken cancellationToken)
    {
        var state = new IntakeState();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var records = new HashSet<(string Entity, string Key)>();
        foreach (var e in events)
        {
            records.Add((e.Entity, e.Key));
            if (e.Id.Length > 0) ids.Add(e.Id);
            else if (e.Version is { } version) ids.Add(EventIds.Derived(e.Entity, e.Key, version));
        }
        var entities = records.Select(r => r.Entity).ToArray();
        var keys = records.Select(r => r.Key).ToArray();
        await using var batch = new NpgsqlBatch(connection, transaction);
        var stored = new NpgsqlBatchCommand(Sql("SELECT id, version, op, data, entity FROM @.events WHERE id = ANY(@ids)"));
        stored.Parameters.AddWithValue("ids", ids.ToArray());
        batch.BatchCommands.Add(stored);
        var heads = new NpgsqlBatchCommand(Sql("SELECT r.entity, r.key, r.version FROM @.records r JOIN unnest(@entities, @keys) AS k(entity, key) ON r.entity = k.entity AND r.key = k.key"));
        heads.Parameters.AddWithValue("entities", entities);
        heads.Parameters.AddWithValue("keys", keys);
        batch.BatchCommands.Add(heads);
        var seqs = new NpgsqlBatchCommand(Sql("SELECT nextval('@.events_seq') FROM generate_series(1, @n)"));
        seqs.Parameters.AddWithValue("n", events.Count);
        batch.BatchCommands.Add(seqs);
        if (source is not null)
        {
            // The newest event whose id carries the source's prefix, per record of the batch.
            var last = new NpgsqlBatchCommand(Sql("""
                SELECT k.entity, k.key, l.version, l.op, l.data FROM unnest(@entities, @keys) AS k(entity, key)
                CROSS JOIN LATERAL (SELECT version, op, data FROM @.events e
                    WHERE e.entity = k.entity AND e.key = k.key AND starts_with(e.id, @prefix) ORDER BY e.seq DESC LIMIT 1) l
                """));
            last.Parameters.AddWithValue("entities", entities);
            last.Parameters.AddWithValue("keys", keys);
            last.Parameters.AddWithValue("prefix", source + ":");
            batch.BatchCommands.Add(last);
        }
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        foreach (var id in ids) state.Stored[id] = null;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            state.Stored[reader.GetString(0)] = new SourceReport(reader.GetInt64(1), (RecordOp)reader.GetInt16(2), Open(reader.GetString(4), reader.IsDBNull(3) ? null : reader.GetString(3)));
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        foreach (var record in records) state.Heads[record] = null;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) state.Heads[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) state.Seqs.Enqueue(reader.GetInt64(0));
        if (source is not null)
        {
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            foreach (var record in records) state.LastReports[record] = null;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var entity = reader.GetString(0);
                state.LastReports[(entity, reader.GetString(1))] = new SourceReport(reader.GetInt64(2), (RecordOp)reader.GetInt16(3), Open(entity, reader.IsDBNull(4) ? null : reader.GetString(4)));
            }
        }
        return state;
    }

    /// <summary>An event stored under this id, from the batch's view; an id it did not load (rare: a derived id, a re-read's next name) is read now.</summary>
    private SourceReport? StoredAs(NpgsqlConnection connection, NpgsqlTransaction transaction, IntakeState state, string id, string entity)
    {
        if (state.Stored.TryGetValue(id, out var known)) return known;
        using var read = Command("SELECT version, op, data FROM @.events WHERE id = @id", connection, transaction);
        read.Parameters.AddWithValue("id", id);
        using var reader = read.ExecuteReader();
        SourceReport? report = reader.Read() ? new SourceReport(reader.GetInt64(0), (RecordOp)reader.GetInt16(1), Open(entity, reader.IsDBNull(2) ? null : reader.GetString(2))) : null;
        state.Stored[id] = report;
        return report;
    }

    private long? HeadOf(NpgsqlConnection connection, NpgsqlTransaction transaction, IntakeState state, string entity, string key)
    {
        if (state.Heads.TryGetValue((entity, key), out var head)) return head;
        using var read = Command("SELECT version FROM @.records WHERE entity = @entity AND key = @key", connection, transaction);
        read.Parameters.AddWithValue("entity", entity);
        read.Parameters.AddWithValue("key", key);
        head = read.ExecuteScalar() is long v ? v : null;
        state.Heads[(entity, key)] = head;
        return head;
    }

    private long NextSeq(NpgsqlConnection connection, NpgsqlTransaction transaction, IntakeState state)
    {
        if (state.Seqs.TryDequeue(out var seq)) return seq;
        using var next = Command("SELECT nextval('@.events_seq')", connection, transaction);
        return (long)next.ExecuteScalar()!;
    }

    /// <summary>
    /// Decides one event as <see cref="Intake.AppendRules"/> says: dedupe by id, stale versions kept but not routed, the
    /// rest routed to their flows; the rows go into the batch's state.
    /// </summary>
    private AppendStatus Decide(NpgsqlConnection connection, NpgsqlTransaction transaction, IntakeState state, Event e, long now, string? trace)
    {
        if (e.Id.Length > 0 && StoredAs(connection, transaction, state, e.Id, e.Entity) is not null) return AppendStatus.Duplicate;
        var decision = _rules.Decide(e, HeadOf(connection, transaction, state, e.Entity, e.Key));
        if (decision.Derived && StoredAs(connection, transaction, state, decision.Id, e.Entity) is not null) return AppendStatus.Duplicate;
        var op = (long)e.Op;
        state.Stored[decision.Id] = new SourceReport(decision.Version, e.Op, e.Data);
        var seq = NextSeq(connection, transaction, state);
        if (decision.Stale)
        {
            // Kept for its id (a later resend is a duplicate) and for inspection; never routed.
            state.Events.Add(new EventRow(seq, decision.Id, e.Type, e.Entity, e.Key, decision.Version, op, decision.Data, 2, null, 0, trace));
            return AppendStatus.Stale;
        }
        var flows = decision.Flows;
        state.Events.Add(new EventRow(seq, decision.Id, e.Type, e.Entity, e.Key, decision.Version, op, decision.Data, 0,
            flows.Count == 0 ? null : string.Join('\n', flows.Select(f => f.Name)), decision.Tracked ? 1 : 0, trace));
        state.Records[(e.Entity, e.Key)] = (decision.Version, op, seq);
        state.Heads[(e.Entity, e.Key)] = decision.Version;
        // Versions accepted for a record only grow, so the last one routed in the batch is the one each flow delivers.
        foreach (var flow in flows) state.Routes[(flow.Name, e.Entity, e.Key)] = (flow.System, decision.Version, seq);
        return AppendStatus.Accepted;
    }

    /// <summary>A polled item, as <see cref="PollRules"/> decides: a re-read, a change, or a change behind in version.</summary>
    private AppendStatus DecidePolled(NpgsqlConnection connection, NpgsqlTransaction transaction, IntakeState state, string source, Event e, long now)
    {
        var record = (e.Entity, e.Key);
        var decision = PollRules.Decide(e, id => StoredAs(connection, transaction, state, id, e.Entity), state.LastReports.GetValueOrDefault(record),
            () => HeadOf(connection, transaction, state, e.Entity, e.Key));
        if (decision.Append is not { } append) return AppendStatus.Duplicate;
        var status = Decide(connection, transaction, state, append, now, null);
        if (status is AppendStatus.Accepted or AppendStatus.Stale && state.Events[^1] is { } row && row.Id.StartsWith(source + ":", StringComparison.Ordinal))
            state.LastReports[record] = new SourceReport(row.Version, append.Op, append.Data);
        return decision.Reordered && status == AppendStatus.Accepted ? AppendStatus.Reordered : status;
    }

    /// <summary>Writes the batch's rows: a statement per table, each over arrays, and a NOTIFY when deliveries became due.</summary>
    private async Task FlushAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IntakeState state, CancellationToken cancellationToken)
    {
        if (state.Events.Count == 0) return;
        await using var batch = new NpgsqlBatch(connection, transaction);
        var events = new NpgsqlBatchCommand(Sql("""
            INSERT INTO @.events(seq, id, type, entity, key, version, op, data, received_at, status, flows, completion, traceparent)
            SELECT seq, id, type, entity, key, version, op, data, @now, status, flows, completion, trace
            FROM unnest(@seq, @id, @type, @entity, @key, @version, @op, @data, @status, @flows, @completion, @trace)
                AS t(seq, id, type, entity, key, version, op, data, status, flows, completion, trace)
            """));
        var rows = state.Events;
        events.Parameters.AddWithValue("now", state.Now);
        events.Parameters.AddWithValue("seq", rows.Select(r => r.Seq).ToArray());
        events.Parameters.AddWithValue("id", rows.Select(r => r.Id).ToArray());
        events.Parameters.AddWithValue("type", rows.Select(r => r.Type).ToArray());
        events.Parameters.AddWithValue("entity", rows.Select(r => r.Entity).ToArray());
        events.Parameters.AddWithValue("key", rows.Select(r => r.Key).ToArray());
        events.Parameters.AddWithValue("version", rows.Select(r => r.Version).ToArray());
        events.Parameters.AddWithValue("op", rows.Select(r => r.Op).ToArray());
        events.Parameters.Add(new NpgsqlParameter("data", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(r => r.Data).ToArray() });
        events.Parameters.AddWithValue("status", rows.Select(r => r.Status).ToArray());
        events.Parameters.Add(new NpgsqlParameter("flows", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(r => r.Flows).ToArray() });
        events.Parameters.AddWithValue("completion", rows.Select(r => r.Completion).ToArray());
        events.Parameters.Add(new NpgsqlParameter("trace", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(r => r.Trace).ToArray() });
        batch.BatchCommands.Add(events);
        if (state.Records.Count > 0)
        {
            var records = new NpgsqlBatchCommand(Sql("""
                INSERT INTO @.records AS r(entity, key, version, op, event_seq)
                SELECT * FROM unnest(@entity, @key, @version, @op, @seq)
                ON CONFLICT(entity, key) DO UPDATE SET version = excluded.version, op = excluded.op, event_seq = excluded.event_seq
                """));
            records.Parameters.AddWithValue("entity", state.Records.Keys.Select(k => k.Entity).ToArray());
            records.Parameters.AddWithValue("key", state.Records.Keys.Select(k => k.Key).ToArray());
            records.Parameters.AddWithValue("version", state.Records.Values.Select(v => v.Version).ToArray());
            records.Parameters.AddWithValue("op", state.Records.Values.Select(v => v.Op).ToArray());
            records.Parameters.AddWithValue("seq", state.Records.Values.Select(v => v.Seq).ToArray());
            batch.BatchCommands.Add(records);
        }
        if (state.Routes.Count > 0)
        {
            batch.BatchCommands.Add(Route(state.Routes.Keys.Select(k => k.Flow).ToArray(), state.Routes.Values.Select(v => v.System).ToArray(),
                state.Routes.Keys.Select(k => k.Entity).ToArray(), state.Routes.Keys.Select(k => k.Key).ToArray(),
                state.Routes.Values.Select(v => v.Version).ToArray(), state.Routes.Values.Select(v => v.Seq).ToArray(), state.Now));
            batch.BatchCommands.Add(Notify());
        }
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Routes versions to flows. A newer version replaces the one waiting; a delivered or dead row becomes pending again with
    /// fresh attempts. An in-flight row keeps its state: when its attempt completes it sees the newer version and stays pending.
    /// </summary>
    private NpgsqlBatchCommand Route(string[] flows, string[] systems, string[] entities, string[] keys, long[] versions, long[] seqs, long now)
    {
        var route = new NpgsqlBatchCommand(Sql("""
            INSERT INTO @.deliveries AS d(flow, system, entity, key, version, event_seq, version_at, state, due_at, pending_since)
            SELECT flow, system, entity, key, version, seq, @now, 0, @now, @now FROM unnest(@flow, @system, @entity, @key, @version, @seq) AS t(flow, system, entity, key, version, seq)
            ON CONFLICT(flow, entity, key) DO UPDATE SET
                version = excluded.version, event_seq = excluded.event_seq, version_at = excluded.version_at,
                state = CASE WHEN d.state IN (2, 3) THEN 0 ELSE d.state END,
                due_at = CASE WHEN d.state IN (2, 3) THEN excluded.due_at ELSE d.due_at END,
                attempts = CASE WHEN d.state IN (2, 3) THEN 0 ELSE d.attempts END,
                pending_since = COALESCE(CASE WHEN d.state IN (2, 3) THEN NULL ELSE d.pending_since END, excluded.pending_since)
            WHERE excluded.version > d.version
            """));
        route.Parameters.AddWithValue("now", now);
        route.Parameters.AddWithValue("flow", flows);
        route.Parameters.AddWithValue("system", systems);
        route.Parameters.AddWithValue("entity", entities);
        route.Parameters.AddWithValue("key", keys);
        route.Parameters.AddWithValue("version", versions);
        route.Parameters.AddWithValue("seq", seqs);
        return route;
    }

    private string? Open(string entity, string? data) => Sensitive is null ? data : Sensitive.Unprotect(entity, data);
}
