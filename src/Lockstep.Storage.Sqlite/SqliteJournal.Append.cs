using System.Text.Json;
using Lockstep.Events;
using Lockstep.Records;

namespace Lockstep.Storage.Sqlite;

public sealed partial class SqliteJournal
{
    public async ValueTask<IReadOnlyList<AppendStatus>> AppendAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        // The intake span that commits these events: their deliveries' spans link back to it.
        var trace = System.Diagnostics.Activity.Current is { IdFormat: System.Diagnostics.ActivityIdFormat.W3C } current ? current.Id : null;
        return await WriteAsync((_, _, commands) =>
        {
            var statuses = new AppendStatus[events.Count];
            for (var i = 0; i < events.Count; i++) statuses[i] = Append(commands, events[i], now, trace);
            return statuses;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stores one event inside the caller's transaction: dedupe by id, ignore stale versions, route the rest.</summary>
    private AppendStatus Append(Commands commands, Event e, long now, string? trace = null)
    {
        if (e.Id.Length > 0 && commands.EventExists.With(e.Id).ExecuteScalar() is not null) return AppendStatus.Duplicate;
        if (e.Id.Length > 0 && _pairSources.Count > 0 && InboundSide(e) is { } paired) return AppendInbound(commands, e, paired.Pair, paired.Side, now);

        var current = commands.RecordVersion.With(e.Entity, e.Key).ExecuteScalar() is long v ? v : (long?)null;
        var version = e.Version ?? Event.NextVersion(current);
        var id = e.Id.Length > 0 ? e.Id : EventIds.Derived(e.Entity, e.Key, version);
        if (e.Id.Length == 0 && commands.EventExists.With(id).ExecuteScalar() is not null) return AppendStatus.Duplicate;

        var op = (long)e.Op;
        var data = Sensitive is null ? e.Data : Sensitive.Protect(e.Entity, e.Data);
        if (current is { } newest && version <= newest)
        {
            // Kept for its id (a later resend is a duplicate) and for inspection; never routed.
            commands.InsertEvent.With(id, e.Type, e.Entity, e.Key, version, op, data, now, 2L, null, 0L, trace).ExecuteScalar();
            return AppendStatus.Stale;
        }

        var flows = _router.Match(e.Type, e.Entity);
        var tracked = flows.Count > 0 && _options.CompletionEvents && !Event.IsCompletion(e.Type);
        var flowList = flows.Count == 0 ? null : string.Join('\n', flows.Select(f => f.Name));
        var seq = (long)commands.InsertEvent.With(id, e.Type, e.Entity, e.Key, version, op, data, now, 0L, flowList, tracked ? 1L : 0L, trace).ExecuteScalar()!;
        commands.UpsertRecord.With(e.Entity, e.Key, version, op, seq).ExecuteNonQuery();
        foreach (var flow in flows)
            commands.RouteDelivery.With(flow.Name, flow.System, e.Entity, e.Key, version, seq, now).ExecuteNonQuery();
        if (_pairEntities.Count > 0) MarkPendingOnPairs(commands, e, version, flows);
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
        return new Event(id, type, CompletionTypes.Entity, $"{EventIds.Escape(entity)}:{EventIds.Escape(key)}", ev.Version, RecordOp.Upsert,
            System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

}
