using Lockstep.Events;

namespace Lockstep.Sources;

/// <summary>Source cursors, persisted in the same transaction as the events they produced.</summary>
public interface ICursorStore
{
    ValueTask<string?> ReadCursorAsync(string source, CancellationToken cancellationToken);

    /// <summary>Appends the events and moves the source's cursor in one transaction: a crash never skips or double-counts a page.</summary>
    ValueTask<IReadOnlyList<AppendStatus>> AppendAsync(IReadOnlyList<Event> events, string source, string? cursor, CancellationToken cancellationToken);
}
