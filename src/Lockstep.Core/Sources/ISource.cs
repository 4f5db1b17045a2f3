namespace Lockstep.Sources;

/// <summary>A system polled for changes: one page of items (raw JSON objects) since a cursor, and where the next page is.</summary>
public interface ISource : IAsyncDisposable
{
    /// <param name="cursor">The lower bound to ask from (inclusive, already moved back by the overlap); empty on the first run.</param>
    /// <param name="nextPage">Null for the first page; otherwise what the previous page returned.</param>
    ValueTask<SourceFetch> FetchAsync(string cursor, string? nextPage, CancellationToken cancellationToken);
}
