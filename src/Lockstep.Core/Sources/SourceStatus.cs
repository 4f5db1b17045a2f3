namespace Lockstep.Sources;

/// <summary>A source as status shows it: last run and its outcome, next run, the cursor, and what the last run brought in.</summary>
public sealed record SourceStatus(
    string State, string? Schedule, DateTimeOffset? LastRunAt, DateTimeOffset? NextRunAt, string? LastOutcome, string? LastError,
    string? Cursor, long Items, long Accepted, long Rejected)
{
    /// <summary>Records the last full run found gone from the source (with <c>vanished: report</c> or <c>delete</c>); null when it did not look.</summary>
    public long? Vanished { get; init; }

    /// <summary>
    /// Records (since start) reported with new content under a version not newer than the last one seen (a late commit, a
    /// clock stepped back); each was delivered as the newest state with the record's next version.
    /// </summary>
    public long OutOfOrder { get; init; }
}
