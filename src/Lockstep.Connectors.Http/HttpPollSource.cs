using Lockstep.Configuration;
using Lockstep.Sources;

namespace Lockstep.Connectors.Http;

/// <summary>
/// <c>type: http-poll</c>: GETs the request with <c>{cursor}</c> filled in and reads the answer a page at a time
/// (<see cref="HttpPages"/>: a JSON array, or <c>{items|data, next}</c>, or a <c>Link</c> header naming the next page).
/// </summary>
internal sealed class HttpPollSource(SourceDefinition source, SystemDefinition system, HttpSystemOptions options, ConnectorContext context) : ISource
{
    private readonly HttpSystemClient _http = new(system, options, context.Time);

    public async ValueTask<SourceFetch> FetchAsync(string cursor, string? nextPage, CancellationToken cancellationToken)
    {
        var url = nextPage ?? source.Request!.Replace("{cursor}", Uri.EscapeDataString(cursor), StringComparison.Ordinal);
        var (items, next, error) = await HttpPages.FetchAsync(_http, system, _http.Resolve(url), i => i.GetRawText(), context.Secrets, cancellationToken).ConfigureAwait(false);
        return error is null ? new SourceFetch(items, next, null) : SourceFetch.Failed(error);
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
