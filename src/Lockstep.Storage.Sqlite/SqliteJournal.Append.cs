using System.Text.Json;
using Lockstep.Events;
using Lockstep.Intake;
using Lockstep.Records;

namespace Lockstep.Storage.Sqlite;

public sealed partial class SqliteJournal
{
    public async ValueTask<IReadOnlyList<AppendStatus>> AppendAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        // The intake span that commits these events: their deliveries' spans link back to it.
        var trace = System.Diagnostics.Activity.Current is { IdFormat: System.Diagnostics.ActivityIdFormat.W3C } current ? current.Id : null;
        return await WriteAsync((_, _, commands) => AppendBatch(commands, events, now, trace), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stores a batch inside the caller's transaction: its known ids and record heads are loaded in two statements.</summary>
    private AppendStatus[] AppendBatch(Commands commands, IReadOnlyList<Event> events, long now, string? trace)
    {
        var batch = IntakeBatch.Load(commands, events);
        var statuses = new AppendStatus[events.Count];
        for (var i = 0; i < events.Count; i++) statuses[i] = Append(commands, events[i], now, batch, trace);
        return statuses;
    }

    /// <summary>
    /// Stores one event inside the caller's transaction, as <see cref="AppendRules"/> decides: dedupe by id, stale versions
    /// kept but not routed, the rest routed to their flows.
    /// </summary>
    private AppendStatus Append(Commands commands, Event e, long now, IntakeBatch? batch = null, string? trace = null)
    {
        batch ??= IntakeBatch.Load(commands, [e]);
        if (e.Id.Length > 0 && batch.IsStored(commands, e.Id)) return AppendStatus.Duplicate;
        if (e.Id.Length > 0 && _pairSources.Count > 0 && InboundSide(e) is { } paired)
        {
            // Two-way decisions write the record themselves: its head is read again when the batch next needs it.
            batch.Stored(e.Id);
            batch.Forget(e.Entity, e.Key);
            return AppendInbound(commands, e, paired.Pair, paired.Side, now);
        }

        var decision = _rules.Decide(e, batch.Head(commands, e.Entity, e.Key));
        if (decision.Derived && batch.IsStored(commands, decision.Id)) return AppendStatus.Duplicate;
        batch.Stored(decision.Id);
        var op = (long)e.Op;
        if (decision.Stale)
        {
            // Kept for its id (a later resend is a duplicate) and for inspection; never routed.
            commands.InsertEvent.With(decision.Id, e.Type, e.Entity, e.Key, decision.Version, op, decision.Data, now, 2L, null, 0L, trace).ExecuteScalar();
            return AppendStatus.Stale;
        }

        var flows = decision.Flows;
        var flowList = flows.Count == 0 ? null : string.Join('\n', flows.Select(f => f.Name));
        var seq = (long)commands.InsertEvent.With(decision.Id, e.Type, e.Entity, e.Key, decision.Version, op, decision.Data, now, 0L, flowList, decision.Tracked ? 1L : 0L, trace).ExecuteScalar()!;
        commands.UpsertRecord.With(e.Entity, e.Key, decision.Version, op, seq).ExecuteNonQuery();
        batch.Advance(e.Entity, e.Key, decision.Version);
        foreach (var flow in flows)
            commands.RouteDelivery.With(flow.Name, flow.System, e.Entity, e.Key, decision.Version, seq, now).ExecuteNonQuery();
        if (_pairEntities.Count > 0) MarkPendingOnPairs(commands, e, decision.Version, flows);
        return AppendStatus.Accepted;
    }

    /// <summary>Emits syncCompleted/syncFailed for a record's open events whose flows have all delivered (or one dead-lettered).</summary>
    private void EmitCompletions(Commands commands, string entity, string key, string? deadFlow, long deadVersion, string? deadError, long now)
    {
        var open = new List<(long Seq, string Id, string Type, long Version, string[] Flows, long Completion)>();
        using (var reader = commands.OpenEvents.With(entity, key).ExecuteReader())
        {
            while (reader.Read())
            {
                open.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3),
                    reader.IsDBNull(4) ? [] : reader.GetString(4).Split('\n'), reader.GetInt64(5)));
            }
        }
        foreach (var ev in open)
        {
            var done = ev.Flows.All(flow =>
                commands.DeliveredVersion.With(flow, entity, key).ExecuteScalar() is long delivered && delivered >= ev.Version);
            if (done)
            {
                commands.SetCompletion.With(ev.Seq, 2L).ExecuteNonQuery();
                Append(commands, CompletionEvent(CompletionTypes.SyncCompleted, $"{CompletionTypes.SyncCompleted}:{ev.Id}", ev, entity, key, null, null), now);
            }
            else if (ev.Completion == 1 && deadFlow is not null && ev.Version <= deadVersion && ev.Flows.Contains(deadFlow))
            {
                commands.SetCompletion.With(ev.Seq, 3L).ExecuteNonQuery();
                Append(commands, CompletionEvent(CompletionTypes.SyncFailed, $"{CompletionTypes.SyncFailed}:{ev.Id}", ev, entity, key, deadFlow, deadError), now);
            }
        }
    }

    private static Event CompletionEvent(string type, string id,
        (long Seq, string Id, string Type, long Version, string[] Flows, long Completion) ev, string entity, string key, string? flow, string? error)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("eventId", ev.Id);
            json.WriteString("type", ev.Type);
            json.WriteString("entity", entity);
            json.WriteString("key", key);
            json.WriteNumber("version", ev.Version);
            json.WriteStartArray("flows");
            foreach (var f in ev.Flows) json.WriteStringValue(f);
            json.WriteEndArray();
            if (flow is not null) json.WriteString("flow", flow);
            if (flow is not null) json.WriteString("error", error);
            json.WriteEndObject();
        }
        return new Event(id, type, CompletionTypes.Entity, $"{entity}:{key}", ev.Version, RecordOp.Upsert,
            System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

}
