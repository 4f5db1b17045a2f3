namespace Lockstep.Storage.Sqlite;

/// <summary>One record's row of a two-way pair: the base, what each side holds from Lockstep, and what is on its way to each.</summary>
internal sealed class SyncState
{
    private long _sourcePending;
    private long _targetPending;
    private long? _sourceSeen;
    private long? _targetSeen;
    private string? _sourceHash;
    private string? _targetHash;

    public string? Base { get; set; }

    public long? BaseOp { get; set; }

    public long Pending(bool source) => source ? _sourcePending : _targetPending;

    public void SetPending(bool source, long version)
    {
        if (source) _sourcePending = version;
        else _targetPending = version;
    }

    public long? Seen(bool source) => source ? _sourceSeen : _targetSeen;

    public void SetSeen(bool source, long version)
    {
        if (source) _sourceSeen = version;
        else _targetSeen = version;
    }

    public string? Hash(bool source) => source ? _sourceHash : _targetHash;

    public void SetHash(bool source, string? hash)
    {
        if (source) _sourceHash = hash;
        else _targetHash = hash;
    }

    public static SyncState Load(Commands commands, string pair, string entity, string key)
    {
        var state = new SyncState();
        using var reader = commands.SyncLoad.With(pair, entity, key).ExecuteReader();
        if (!reader.Read()) return state;
        state.Base = reader.IsDBNull(0) ? null : reader.GetString(0);
        state.BaseOp = reader.IsDBNull(1) ? null : reader.GetInt64(1);
        state._sourceHash = reader.IsDBNull(2) ? null : reader.GetString(2);
        state._targetHash = reader.IsDBNull(3) ? null : reader.GetString(3);
        state._sourcePending = reader.GetInt64(4);
        state._targetPending = reader.GetInt64(5);
        state._sourceSeen = reader.IsDBNull(6) ? null : reader.GetInt64(6);
        state._targetSeen = reader.IsDBNull(7) ? null : reader.GetInt64(7);
        return state;
    }

    public void Save(Commands commands, string pair, string entity, string key) =>
        commands.SyncSave.With(pair, entity, key, Base, BaseOp, _sourceHash, _targetHash, _sourcePending, _targetPending, _sourceSeen, _targetSeen).ExecuteNonQuery();
}
