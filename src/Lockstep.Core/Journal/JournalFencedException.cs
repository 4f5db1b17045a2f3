namespace Lockstep.Journal;

/// <summary>
/// The journal's work lease moved to another process (it opened the same journal): this one's claims and outcomes are
/// refused, and nothing it commits from now on is applied. Raised instead of a stale commit.
/// </summary>
public sealed class JournalFencedException(string lease, long epoch, long current, string owner)
    : InvalidOperationException($"lease '{lease}' was taken over by {owner} (epoch {current}); this process held epoch {epoch} and commits nothing more for it")
{
    public string Lease { get; } = lease;

    public long Epoch { get; } = epoch;

    public long CurrentEpoch { get; } = current;
}
