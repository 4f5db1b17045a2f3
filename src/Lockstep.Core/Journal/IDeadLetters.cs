namespace Lockstep.Journal;

/// <summary>Deliveries that could not be made: listed, replayed with fresh attempts, or dropped.</summary>
public interface IDeadLetters
{
    ValueTask<IReadOnlyList<DeadLetter>> ListAsync(string? flow, string? system, int limit, CancellationToken cancellationToken);

    /// <summary>Replays the selected dead letters (all when both are null); returns how many became due again.</summary>
    ValueTask<int> ReplayAsync(string? flow, IReadOnlyCollection<long>? ids, DateTimeOffset now, CancellationToken cancellationToken);

    ValueTask<bool> DropAsync(long id, CancellationToken cancellationToken);
}
