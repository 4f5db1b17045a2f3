namespace Lockstep.Status;

/// <summary>
/// Whether the journal takes writes (<c>ok</c>) or not (<c>unwritable</c>: a full disk, a read-only file). While it is
/// unwritable publishing answers 503, readiness fails, and delivery outcomes wait in memory until they can be committed.
/// </summary>
/// <param name="Failing">What could not write: <c>intake</c>, <c>outcomes</c>, <c>claims</c>.</param>
/// <param name="UncommittedOutcomes">Delivery outcomes waiting to be committed.</param>
/// <param name="FailedWrites">Failed journal writes since start.</param>
public sealed record JournalStatus(
    string State, IReadOnlyList<string> Failing, DateTimeOffset? Since, string? LastError, long UncommittedOutcomes, long FailedWrites)
{
    public const string Ok = "ok";
    public const string Unwritable = "unwritable";
}
