using Lockstep.Conflicts;

namespace Lockstep.Storage.Postgres;

/// <summary>
/// Two-way pairs are not supported on PostgreSQL yet: their echo and conflict decisions still live in the SQLite journal's
/// SQL and have not moved into Core. A config with <c>sync:</c> pairs is refused when the journal is created, naming
/// this; the read side answers from the (empty) conflict tables.
/// </summary>
public sealed partial class PostgresJournal : ISyncStore
{
    public const string PairsNotSupported = "two-way sync pairs (sync:) are not supported yet on the PostgreSQL journal; use storage: sqlite:PATH for them";

    public void UsePairs(IReadOnlyList<SyncPair> pairs, SideHasher hash)
    {
        if (pairs.Count > 0) throw new NotSupportedException(PairsNotSupported);
    }

    public ValueTask<IReadOnlyList<ConflictView>> ListConflictsAsync(string? pair, bool openOnly, int limit, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<ConflictView>>([]);

    public ValueTask<ConflictView?> GetConflictAsync(long id, CancellationToken cancellationToken) => ValueTask.FromResult<ConflictView?>(null);

    public ValueTask<ConflictView?> ResolveConflictAsync(long id, ConflictResolution resolution, string actor, DateTimeOffset now, CancellationToken cancellationToken) =>
        ValueTask.FromResult<ConflictView?>(null);

    public ValueTask<IReadOnlyDictionary<string, PairStatus>> PairStatusAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyDictionary<string, PairStatus>>(new Dictionary<string, PairStatus>(StringComparer.Ordinal));
}
