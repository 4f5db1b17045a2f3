using Lockstep.Events;

namespace Lockstep.Storage.Sqlite;

/// <summary>
/// The journal state one intake batch is decided against: which of its ids are stored already, and the newest version of
/// each of its records. Kept current as the batch's own events are stored.
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

    /// <summary>
    /// The state for a batch, read as its events need it and kept current as they are stored. For an in-process SQLite
    /// file a prepared point read per record is cheaper than loading the batch's ids and heads as a set (measured: see
    /// bench/README.md, "Storage redesign"); a networked backend loads them as sets instead, one round trip per batch.
    /// </summary>
    public static IntakeBatch For(IReadOnlyList<Event> events) => events.Count == 1 ? Single : new IntakeBatch(cached: true);

    /// <summary>True when an event with this id is stored (by this batch, or found by a look-up now).</summary>
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
