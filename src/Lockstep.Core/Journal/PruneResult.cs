namespace Lockstep.Journal;

/// <summary>What one retention run deleted.</summary>
public sealed record PruneResult(long Events, long Attempts, long Audit);
