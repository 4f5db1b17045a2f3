using Lockstep.Conflicts;
using Lockstep.Deliveries;
using Lockstep.Events;
using Lockstep.Records;
using Microsoft.Data.Sqlite;

namespace Lockstep.Storage.Sqlite;

/// <summary>
/// Two-way pairs inside the journal's transactions: an inbound change from one side is checked against what Lockstep
/// last wrote there (echo), against an open conflict, and against the other side's change still on its way (conflict),
/// in the same commit that stores it, so two racing changes of one record are always seen one after the other.
/// </summary>
public sealed partial class SqliteJournal : ISyncStore
{
    private readonly Dictionary<string, (SyncPair Pair, PairSide Side)> _pairSources = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (SyncPair Pair, PairSide Side)> _pairFlows = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<SyncPair>> _pairEntities = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SyncPair> _pairs = new(StringComparer.Ordinal);
    private SideHasher? _sideHash;

    public void UsePairs(IReadOnlyList<SyncPair> pairs, SideHasher hash)
    {
        _sideHash = hash;
        foreach (var pair in pairs)
        {
            _pairs[pair.Name] = pair;
            foreach (var side in new[] { pair.Source, pair.Target })
            {
                _pairFlows[side.Flow] = (pair, side);
                foreach (var source in side.Sources) _pairSources[source] = (pair, side);
            }
            foreach (var entity in pair.Entities)
            {
                if (!_pairEntities.TryGetValue(entity, out var list)) _pairEntities[entity] = list = [];
                list.Add(pair);
            }
        }
    }

    /// <summary>The pair and side an inbound event belongs to, if any.</summary>
    private (SyncPair Pair, PairSide Side)? InboundSide(Event e) =>
        e.Origin is { } origin && _pairSources.TryGetValue(origin, out var side) && side.Pair.Entities.Contains(e.Entity) ? side : null;

    private AppendStatus AppendInbound(Commands commands, Event e, SyncPair pair, PairSide side, long now)
    {
        var isSource = side.Name == pair.Source.Name;
        var state = SyncState.Load(commands, pair.Name, e.Entity, e.Key);
        var deleted = e.Op == RecordOp.Delete;
        // Each side numbers its own versions: an older report of this side than one already seen changes nothing.
        if (e.Version is { } reported && state.Seen(isSource) is { } seen && reported <= seen)
            return Park(commands, e, e.Version ?? 0, now, 2, AppendStatus.Stale);
        if (e.Version is { } v) state.SetSeen(isSource, v);

        if (e.EchoHash is not null && e.EchoHash == state.Hash(isSource))
            return Save(commands, state, pair, e, Park(commands, e, e.Version ?? 0, now, 3, AppendStatus.Echo));

        if (commands.OpenConflict.With(pair.Name, e.Entity, e.Key).ExecuteScalar() is long open)
        {
            // Parked: the newest report of each side is what the operator chooses from.
            using var update = commands.Once(isSource
                ? "UPDATE conflicts SET source_data = $data, source_deleted = $deleted WHERE id = $id"
                : "UPDATE conflicts SET target_data = $data, target_deleted = $deleted WHERE id = $id");
            update.Parameters.AddWithValue("$data", (object?)e.Data ?? DBNull.Value);
            update.Parameters.AddWithValue("$deleted", deleted ? 1 : 0);
            update.Parameters.AddWithValue("$id", open);
            update.ExecuteNonQuery();
            return Save(commands, state, pair, e, Park(commands, e, e.Version ?? 0, now, 4, AppendStatus.Conflict));
        }

        var current = CurrentRecord(commands, e.Entity, e.Key);
        if (current is { } c && (c.Deleted ? deleted : !deleted && c.Data is not null && e.Data is not null
                && (RecordJson.Covers(c.Data, e.Data) || IsInFlightEcho(state.Pending(isSource), side, e, c.Data))))
        {
            // No change: the side already holds the newest state. It says so itself, so it is no longer waiting for it
            // (even if the delivery's outcome is not committed yet: a change it makes next is not a conflict).
            if (e.EchoHash is not null) state.SetHash(isSource, e.EchoHash);
            if (state.Pending(isSource) != 0)
            {
                state.SetPending(isSource, 0);
                if (state.Pending(!isSource) == 0) (state.Base, state.BaseOp) = (c.Deleted ? null : c.Data, c.Deleted ? (long)RecordOp.Delete : (long)RecordOp.Upsert);
            }
            return Save(commands, state, pair, e, Park(commands, e, e.Version ?? 0, now, 3, AppendStatus.Echo));
        }

        var version = Math.Max(Event.NextVersion(current?.Version), e.Version ?? 0);
        if (state.Pending(isSource) == 0)
        {
            // Checkpoint: a plain change of this side, sent to the other side only.
            AcceptPaired(commands, e, version, e.Data, e.Op, pair, side, now);
            state.SetPending(!isSource, version);
            state.SetHash(isSource, e.EchoHash);
            return Save(commands, state, pair, e, AppendStatus.Accepted);
        }

        // This side changed the record while the other side's change was still on its way to it: a conflict.
        var (sourceData, sourceDeleted, targetData, targetDeleted) = isSource
            ? (e.Data, deleted, current?.Data, current?.Deleted ?? true)
            : (current?.Data, current?.Deleted ?? true, e.Data, deleted);
        var decision = ConflictRules.Decide(pair, e.Entity, state.Base, sourceData, sourceDeleted, targetData, targetDeleted);
        var conflictId = RecordConflict(commands, pair, e.Entity, e.Key, state.Base, sourceData, sourceDeleted, targetData, targetDeleted, decision, now);
        if (decision.Outcome == "open")
        {
            foreach (var flow in new[] { pair.Source.Flow, pair.Target.Flow })
            {
                using var hold = commands.Once("INSERT OR REPLACE INTO held(flow, entity, key, conflict_id) VALUES ($flow, $entity, $key, $id)");
                hold.Parameters.AddWithValue("$flow", flow);
                hold.Parameters.AddWithValue("$entity", e.Entity);
                hold.Parameters.AddWithValue("$key", e.Key);
                hold.Parameters.AddWithValue("$id", conflictId);
                hold.ExecuteNonQuery();
            }
            return Save(commands, state, pair, e, Park(commands, e, e.Version ?? 0, now, 4, AppendStatus.Conflict));
        }
        if (decision.Outcome == side.Name)
        {
            // The incoming side wins: it already holds its data, the other side gets it (its pending change is superseded).
            AcceptPaired(commands, e, version, e.Data, e.Op, pair, side, now);
            state.SetPending(!isSource, version);
            state.SetPending(isSource, 0);
            state.SetHash(isSource, e.EchoHash);
            return Save(commands, state, pair, e, AppendStatus.Accepted);
        }
        if (decision.Outcome == "merged")
        {
            AcceptPaired(commands, e, version, decision.Data, RecordOp.Upsert, pair, null, now);
            state.SetPending(true, version);
            state.SetPending(false, version);
            return Save(commands, state, pair, e, AppendStatus.Accepted);
        }
        // The other side wins: its change, still on its way here, goes on and overwrites this one.
        return Save(commands, state, pair, e, Park(commands, e, e.Version ?? 0, now, 4, AppendStatus.Conflict));
    }

    /// <summary>
    /// Whether this side reports the newest record, still on its way to it, before that delivery's outcome is committed
    /// (a poll racing the write's completion). The side stamps fields of its own (an <c>updatedAt</c>), so its report
    /// does not cover the record; mapped by its own flow it is what Lockstep writes there, the hash the completion
    /// would record.
    /// </summary>
    private bool IsInFlightEcho(long pending, PairSide side, Event e, string currentData) =>
        pending != 0 && e.EchoHash is not null && _sideHash?.Invoke(side.Flow, e.Entity, e.Key, currentData) == e.EchoHash;

    /// <summary>Stores an event that is not routed (stale, echo, conflict), so its id is known and it shows in the history.</summary>
    private static AppendStatus Park(Commands commands, Event e, long version, long now, long status, AppendStatus result)
    {
        commands.InsertEvent.With(e.Id, e.Type, e.Entity, e.Key, version, (long)e.Op, e.Data, now, status, null, 0L, null).ExecuteScalar();
        return result;
    }

    private static AppendStatus Save(Commands commands, SyncState state, SyncPair pair, Event e, AppendStatus result)
    {
        state.Save(commands, pair.Name, e.Entity, e.Key);
        return result;
    }

    /// <summary>
    /// Stores the record's new version and routes it: to every matching flow and the pair's flows, except back to the
    /// origin side (when there is one), which is recorded as already holding it.
    /// </summary>
    private void AcceptPaired(Commands commands, Event e, long version, string? data, RecordOp op, SyncPair pair, PairSide? origin, long now)
    {
        var flows = _rules.Router.Match(e.Type, e.Entity).Select(f => f.Name)
            .Union([pair.Source.Flow, pair.Target.Flow])
            .Where(f => f != origin?.Flow).ToList();
        var tracked = flows.Count > 0 && _rules.CompletionEvents && !Event.IsCompletion(e.Type);
        var seq = (long)commands.InsertEvent.With(e.Id, e.Type, e.Entity, e.Key, version, (long)op, data, now, 0L, string.Join('\n', flows), tracked ? 1L : 0L, null).ExecuteScalar()!;
        commands.UpsertRecord.With(e.Entity, e.Key, version, (long)op, seq).ExecuteNonQuery();
        foreach (var flow in flows) commands.RouteDelivery.With(flow, _flowSystems[flow], e.Entity, e.Key, version, seq, now).ExecuteNonQuery();
        if (origin is not null) commands.Absorb.With(origin.Flow, _flowSystems[origin.Flow], e.Entity, e.Key, version, seq, now).ExecuteNonQuery();
    }

    /// <summary>A change published without an origin (the API, a resolution) is on its way to both sides of every pair it belongs to.</summary>
    private void MarkPendingOnPairs(Commands commands, Event e, long version, IReadOnlyList<Configuration.FlowDefinition> flows)
    {
        if (!_pairEntities.TryGetValue(e.Entity, out var pairs)) return;
        foreach (var pair in pairs)
        {
            var state = SyncState.Load(commands, pair.Name, e.Entity, e.Key);
            if (flows.Any(f => f.Name == pair.Source.Flow)) state.SetPending(true, version);
            if (flows.Any(f => f.Name == pair.Target.Flow)) state.SetPending(false, version);
            state.Save(commands, pair.Name, e.Entity, e.Key);
        }
    }

    /// <summary>A delivery to a pair's side finished: that side now holds this version; once both do, it is the new base.</summary>
    private void CompletePaired(Commands commands, DeliveryCompletion completion)
    {
        var d = completion.Delivery;
        if (!_pairFlows.TryGetValue(d.Flow, out var found)) return;
        var (pair, side) = found;
        var isSource = side.Name == pair.Source.Name;
        var state = SyncState.Load(commands, pair.Name, d.Entity, d.Key);
        var pending = state.Pending(isSource);
        if (pending != 0 && d.Version >= pending) state.SetPending(isSource, 0);
        if (completion.WrittenHash is not null) state.SetHash(isSource, completion.WrittenHash);
        if (state.Pending(true) == 0 && state.Pending(false) == 0)
        {
            state.Base = d.Op == RecordOp.Delete ? null : d.Data;
            state.BaseOp = (long)d.Op;
        }
        state.Save(commands, pair.Name, d.Entity, d.Key);
    }

    private static (long Version, bool Deleted, string? Data)? CurrentRecord(Commands commands, string entity, string key)
    {
        using var reader = commands.RecordData.With(entity, key).ExecuteReader();
        if (!reader.Read()) return null;
        return (reader.GetInt64(0), reader.GetInt64(1) == (long)RecordOp.Delete, reader.IsDBNull(2) ? null : reader.GetString(2));
    }

    private static long RecordConflict(Commands commands, SyncPair pair, string entity, string key, string? baseData, string? source, bool sourceDeleted,
        string? target, bool targetDeleted, ConflictDecision decision, long now)
    {
        using var insert = commands.Once("""
            INSERT INTO conflicts(pair, entity, key, policy, detected_at, base, source_data, source_deleted, target_data, target_deleted, outcome, result, detail, resolved_at, resolved_by)
            VALUES ($pair, $entity, $key, $policy, $now, $base, $source, $sourceDeleted, $target, $targetDeleted, $outcome, $result, $detail, $resolvedAt, $resolvedBy)
            RETURNING id
            """);
        var open = decision.Outcome == "open";
        insert.Parameters.AddWithValue("$pair", pair.Name);
        insert.Parameters.AddWithValue("$entity", entity);
        insert.Parameters.AddWithValue("$key", key);
        insert.Parameters.AddWithValue("$policy", SyncPair.PolicyName(pair.PolicyFor(entity)));
        insert.Parameters.AddWithValue("$now", now);
        insert.Parameters.AddWithValue("$base", (object?)baseData ?? DBNull.Value);
        insert.Parameters.AddWithValue("$source", (object?)source ?? DBNull.Value);
        insert.Parameters.AddWithValue("$sourceDeleted", sourceDeleted ? 1 : 0);
        insert.Parameters.AddWithValue("$target", (object?)target ?? DBNull.Value);
        insert.Parameters.AddWithValue("$targetDeleted", targetDeleted ? 1 : 0);
        insert.Parameters.AddWithValue("$outcome", decision.Outcome);
        insert.Parameters.AddWithValue("$result", (object?)decision.Data ?? DBNull.Value);
        insert.Parameters.AddWithValue("$detail", decision.Detail);
        insert.Parameters.AddWithValue("$resolvedAt", open ? DBNull.Value : now);
        insert.Parameters.AddWithValue("$resolvedBy", open ? DBNull.Value : "policy");
        return (long)insert.ExecuteScalar()!;
    }

    public async ValueTask<ConflictView?> ResolveConflictAsync(long id, ConflictResolution resolution, string actor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var at = now.ToUnixTimeMilliseconds();
        var resolved = await WriteAsync((_, _, commands) =>
        {
            string pairName, entity, key;
            string? source, target;
            bool sourceDeleted, targetDeleted;
            using (var load = commands.Once("SELECT pair, entity, key, source_data, source_deleted, target_data, target_deleted FROM conflicts WHERE id = $id AND outcome = 'open'"))
            {
                load.Parameters.AddWithValue("$id", id);
                using var reader = load.ExecuteReader();
                if (!reader.Read()) return false;
                (pairName, entity, key) = (reader.GetString(0), reader.GetString(1), reader.GetString(2));
                source = reader.IsDBNull(3) ? null : reader.GetString(3);
                sourceDeleted = reader.GetInt64(4) == 1;
                target = reader.IsDBNull(5) ? null : reader.GetString(5);
                targetDeleted = reader.GetInt64(6) == 1;
            }
            var (outcome, data, deleted) = resolution.Body is { } body ? ("custom", body, false)
                : resolution.Take == "target" ? ("target", target, targetDeleted) : ("source", source, sourceDeleted);
            if (!_pairs.TryGetValue(pairName, out var pair)) throw new InvalidOperationException($"conflict {id} belongs to pair '{pairName}', which is no longer configured");
            using (var release = commands.Once("DELETE FROM held WHERE conflict_id = $id"))
            {
                release.Parameters.AddWithValue("$id", id);
                release.ExecuteNonQuery();
            }
            var version = Event.NextVersion(CurrentRecord(commands, entity, key)?.Version);
            var op = deleted ? RecordOp.Delete : RecordOp.Upsert;
            var e = new Event($"conflict:{id}:resolved", "conflictResolved", entity, key, version, op, deleted ? null : data);
            // Checkpoint: the chosen record is the newest version, on its way to both sides; the held deliveries are released.
            AcceptPaired(commands, e, version, e.Data, op, pair, null, at);
            var state = SyncState.Load(commands, pair.Name, entity, key);
            state.SetPending(true, version);
            state.SetPending(false, version);
            state.Save(commands, pair.Name, entity, key);
            using var update = commands.Once("UPDATE conflicts SET outcome = $outcome, result = $result, detail = $detail, resolved_at = $now, resolved_by = $actor WHERE id = $id");
            update.Parameters.AddWithValue("$outcome", outcome);
            update.Parameters.AddWithValue("$result", (object?)e.Data ?? DBNull.Value);
            update.Parameters.AddWithValue("$detail", $"resolved by {actor}: {(resolution.Body is null ? "took the " + outcome : "custom body")}");
            update.Parameters.AddWithValue("$now", at);
            update.Parameters.AddWithValue("$actor", actor);
            update.Parameters.AddWithValue("$id", id);
            update.ExecuteNonQuery();
            return true;
        }, cancellationToken).ConfigureAwait(false);
        return resolved ? await GetConflictAsync(id, cancellationToken).ConfigureAwait(false) : null;
    }

    public async ValueTask<IReadOnlyList<ConflictView>> ListConflictsAsync(string? pair, bool openOnly, int limit, CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {ConflictColumns} FROM conflicts
            WHERE ($pair IS NULL OR pair = $pair) AND ($open = 0 OR outcome = 'open') ORDER BY id DESC LIMIT $limit
            """;
        command.Parameters.AddWithValue("$pair", (object?)pair ?? DBNull.Value);
        command.Parameters.AddWithValue("$open", openOnly ? 1 : 0);
        command.Parameters.AddWithValue("$limit", limit);
        var list = new List<ConflictView>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) list.Add(ReadConflict(reader));
        return list;
    }

    public async ValueTask<ConflictView?> GetConflictAsync(long id, CancellationToken cancellationToken)
    {
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {ConflictColumns} FROM conflicts WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadConflict(reader) : null;
    }

    public async ValueTask<IReadOnlyDictionary<string, PairStatus>> PairStatusAsync(CancellationToken cancellationToken)
    {
        var result = new SortedDictionary<string, PairStatus>(StringComparer.Ordinal);
        foreach (var pair in _pairs.Values) result[pair.Name] = new PairStatus(SyncPair.PolicyName(pair.Policy), 0, 0, null);
        using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT pair, SUM(outcome = 'open'), COUNT(*), MAX(detected_at) FROM conflicts GROUP BY pair";
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!result.TryGetValue(reader.GetString(0), out var status)) continue;
            result[reader.GetString(0)] = status with
            {
                OpenConflicts = reader.GetInt64(1),
                Conflicts = reader.GetInt64(2),
                LastConflictAt = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
            };
        }
        return result;
    }

    /// <summary>How an event's status column reads in views: 0 accepted, 2 stale, 3 echo (two-way), 4 conflict (two-way).</summary>
    private static string EventStatusName(long status) => status switch
    {
        2 => "stale",
        3 => "echo",
        4 => "conflict",
        _ => "accepted",
    };

    private const string ConflictColumns =
        "id, pair, entity, key, policy, detected_at, base, source_data, source_deleted, target_data, target_deleted, outcome, result, resolved_at, resolved_by";

    private static ConflictView ReadConflict(SqliteDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)),
        r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? null : r.GetString(7), r.GetInt64(8) == 1,
        r.IsDBNull(9) ? null : r.GetString(9), r.GetInt64(10) == 1, r.GetString(11), r.IsDBNull(12) ? null : r.GetString(12),
        r.IsDBNull(13) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(13)), r.IsDBNull(14) ? null : r.GetString(14));
}
