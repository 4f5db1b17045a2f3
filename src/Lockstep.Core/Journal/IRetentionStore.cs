namespace Lockstep.Journal;

/// <summary>Deletes what a <see cref="RetentionPolicy"/> no longer keeps, in bounded batches.</summary>
public interface IRetentionStore
{
    ValueTask<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken);
}
