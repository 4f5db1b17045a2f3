namespace Lockstep.Status;

/// <summary>
/// The words status uses: synced (nothing pending, in flight or dead), pending (work under way), degraded (working, but
/// holding dead letters from failures older than <see cref="StatusBuilder.RecentFailures"/>), failing, paused (by an
/// operator).
/// </summary>
public static class SyncState
{
    public const string Synced = "synced";
    public const string Pending = "pending";
    public const string Degraded = "degraded";
    public const string Failing = "failing";

    /// <summary>An operator paused it: its work waits, and that is not a failure.</summary>
    public const string Paused = "paused";
}
