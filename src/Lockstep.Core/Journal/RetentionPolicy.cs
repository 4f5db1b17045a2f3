namespace Lockstep.Journal;

/// <summary>
/// <c>retention:</c> how long the journal keeps completed events, attempts and audit rows (null: forever), and how often
/// it prunes. Pending, in-flight and dead deliveries keep their events however old they are.
/// </summary>
public sealed record RetentionPolicy(TimeSpan? Events, TimeSpan? Attempts, TimeSpan? Audit, TimeSpan Every)
{
    /// <summary>Rows deleted per transaction, so a prune never holds the journal's write lock for long.</summary>
    public const int BatchSize = 1000;

    /// <summary>Batches per table per run: a backlog is worked off over several runs rather than in one long one.</summary>
    public const int MaxBatches = 100;
}
