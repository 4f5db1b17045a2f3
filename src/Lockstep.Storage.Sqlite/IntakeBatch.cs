using System.Text.Json;
using Lockstep.Events;

namespace Lockstep.Storage.Sqlite;

/// <summary>
/// The journal state one intake batch is decided against, loaded set-based: which of its ids are stored already, and the
/// newest version of each of its records. Kept current as the batch's own events are stored.
/// </summary>
internal sealed class IntakeBatch
{
    private readonly HashSet<string> _stored = new(StringComparer.Ordinal);
    private readonly HashSet<string> _looked = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Entity, string Key), long?> _heads = [];
    private readonly bool _cached;

    private IntakeBatch(bool cached) => _cached = cached;

    /// <summary>
    /// One event on its own (a completion event, a single publish): prepared point look-ups, nothing allocated or kept.
    /// It holds no state, so one instance serves every caller.
    /// </summary>
    public static IntakeBatch Single { get; } = new(cached: false);

    public static IntakeBatch Load(Commands commands, IReadOnlyList<Event> events)
    {
        if (events.Count == 1) return Single;
        var batch = new IntakeBatch(cached: true);
        var ids = new List<string>(events.Count);
        var keys = new List<string[]>(events.Count);
        foreach (var e in events)
        {
            if (e.Id.Length > 0 && batch._looked.Add(e.Id)) ids.Add(e.Id);
            if (batch._heads.TryAdd((e.Entity, e.Key), null)) keys.Add([e.Entity, e.Key]);
        }
        using (var reader = commands.StoredIds.With(JsonSerializer.Serialize(ids)).ExecuteReader())
        {
            while (reader.Read()) batch._stored.Add(reader.GetString(0));
        }
        using (var reader = commands.RecordHeads.With(JsonSerializer.Serialize(keys)).ExecuteReader())
        {
            while (reader.Read()) batch._heads[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
        }
        return batch;
    }

    /// <summary>True when an event with this id is stored (loaded with the batch, stored by it, or looked up now).</summary>
    public bool IsStored(Commands commands, string id)
    {
        if (!_cached) return commands.EventExists.With(id).ExecuteScalar() is not null;
        if (_stored.Contains(id)) return true;
        if (_looked.Contains(id)) return false;
        _looked.Add(id);
        if (commands.EventExists.With(id).ExecuteScalar() is null) return false;
        _stored.Add(id);
        return true;
    }

    public void Stored(string id)
    {
        if (!_cached) return;
        _looked.Add(id);
        _stored.Add(id);
    }

    /// <summary>The newest version of the record, or null for a new record.</summary>
    public long? Head(Commands commands, string entity, string key)
    {
        if (!_cached) return commands.RecordVersion.With(entity, key).ExecuteScalar() is long current ? current : null;
        if (_heads.TryGetValue((entity, key), out var head)) return head;
        head = commands.RecordVersion.With(entity, key).ExecuteScalar() is long v ? v : null;
        _heads[(entity, key)] = head;
        return head;
    }

    public void Advance(string entity, string key, long version)
    {
        if (_cached) _heads[(entity, key)] = version;
    }

    /// <summary>Something else wrote the record: read its head again when next needed.</summary>
    public void Forget(string entity, string key)
    {
        if (_cached) _heads.Remove((entity, key));
    }
}
