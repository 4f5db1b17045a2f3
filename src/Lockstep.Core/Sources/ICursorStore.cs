using Lockstep.Events;

namespace Lockstep.Sources;

/// <summary>Where a source is: the largest cursor value seen, and the page to resume from when a run stopped at its page limit.</summary>
public sealed record SourcePosition(string? Cursor, string? NextPage);

/// <summary>Source cursors, persisted in the same transaction as the events they produced.</summary>
public interface ICursorStore
{
    ValueTask<SourcePosition> ReadPositionAsync(string source, CancellationToken cancellationToken);

    /// <summary>Appends the events and moves the source's position in one transaction: a crash never skips or double-counts a page.</summary>
    ValueTask<IReadOnlyList<AppendStatus>> AppendAsync(IReadOnlyList<Event> events, string source, SourcePosition position, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> records whose newest version came from <paramref name="source"/> and is not a delete,
    /// ordered by (entity, key) after <paramref name="after"/> (null: from the start).
    /// </summary>
    ValueTask<IReadOnlyList<ProducedRecord>> ListProducedAsync(string source, ProducedRecord? after, int limit, CancellationToken cancellationToken);
}
