using Lockstep.Deliveries;
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

    /// <summary>Stores a batch inside the caller's transaction: each id and record head is read once per batch.</summary>
    private AppendStatus[] AppendBatch(Commands commands, IReadOnlyList<Event> events, long now, string? trace)
    {
        var batch = IntakeBatch.For(events);
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
        batch ??= IntakeBatch.Single;
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

    /// <summary>Stores the completions <see cref="CompletionRules"/> decides for a record after an outcome was committed.</summary>
    private void EmitCompletions(Commands commands, string entity, string key, (string Flow, long Version, string? Error)? dead, long now)
    {
        var open = new List<TrackedEvent>();
        using (var reader = commands.OpenEvents.With(entity, key).ExecuteReader())
        {
            while (reader.Read())
            {
                open.Add(new TrackedEvent(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3),
                    reader.IsDBNull(4) ? [] : reader.GetString(4).Split('\n'), reader.GetInt64(5) == 3));
            }
        }
        if (open.Count == 0) return;
        var delivered = new Dictionary<string, long?>(StringComparer.Ordinal);
        long? DeliveredVersion(string flow)
        {
            if (!delivered.TryGetValue(flow, out var version))
                delivered[flow] = version = commands.DeliveredVersion.With(flow, entity, key).ExecuteScalar() is long v ? v : null;
            return version;
        }
        foreach (var decision in CompletionRules.Decide(entity, key, open, DeliveredVersion, dead))
        {
            commands.SetCompletion.With(decision.Tracked.Seq, decision.Completed ? 2L : 3L).ExecuteNonQuery();
            Append(commands, decision.Emitted, now);
        }
    }
}
