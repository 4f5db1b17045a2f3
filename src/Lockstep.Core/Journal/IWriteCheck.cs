namespace Lockstep.Journal;

/// <summary>
/// A journal that can prove it takes writes again: one durable commit that changes no data. The engine runs it, with
/// backoff, after intake failed to commit, so readiness recovers by itself when the disk has room again.
/// </summary>
public interface IWriteCheck
{
    ValueTask CheckWriteAsync(CancellationToken cancellationToken);
}
