namespace Lockstep.Conflicts;

/// <summary>
/// What two-way sync needs from the journal: the pairs applied inside each append and delivery commit (echo
/// suppression, the base per record, conflict detection), and the conflict list.
/// </summary>
public interface ISyncStore
{
    /// <summary>Called once before the journal opens.</summary>
    /// <param name="hash">Maps a record as a side's flow writes it, to recognise that side reporting a write still in flight.</param>
    void UsePairs(IReadOnlyList<SyncPair> pairs, SideHasher hash);

    ValueTask<IReadOnlyList<ConflictView>> ListConflictsAsync(string? pair, bool openOnly, int limit, CancellationToken cancellationToken);

    ValueTask<ConflictView?> GetConflictAsync(long id, CancellationToken cancellationToken);

    /// <summary>Settles an open conflict: the chosen record becomes the newest version and goes to both sides; held deliveries resume.</summary>
    /// <returns>The settled conflict, or null when there is no open conflict with that id.</returns>
    ValueTask<ConflictView?> ResolveConflictAsync(long id, ConflictResolution resolution, string actor, DateTimeOffset now, CancellationToken cancellationToken);

    ValueTask<IReadOnlyDictionary<string, PairStatus>> PairStatusAsync(CancellationToken cancellationToken);
}
