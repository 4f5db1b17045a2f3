using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Sources;

namespace Lockstep.Connectors.Http;

/// <summary>
/// <c>type: http-poll</c>: GETs the request with <c>{cursor}</c> filled in. The answer is a JSON array of items, or an
/// object with an <c>items</c>/<c>data</c> array and an optional <c>next</c> (a URL or path); a <c>Link: &lt;…&gt;; rel="next"</c>
/// header also names the next page.
/// </summary>
internal sealed class HttpPollSource(SourceDefinition source, SystemDefinition system, HttpSystemOptions options, ConnectorContext context) : ISource
{
    private readonly HttpSystemClient _http = new(system, options, context.Time);

    public async ValueTask<SourceFetch> FetchAsync(string cursor, string? nextPage, CancellationToken cancellationToken)
    {
        var url = nextPage ?? source.Request!.Replace("{cursor}", Uri.EscapeDataString(cursor), StringComparison.Ordinal);
        var target = _http.Resolve(url);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(system.Timeout);
        try
        {
            using var response = await _http.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, target), HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var detail = await HttpConnector.ReadDetailAsync(response, cancellationToken).ConfigureAwait(false);
                return SourceFetch.Failed(Redact($"GET {target.AbsolutePath} answered HTTP {(int)response.StatusCode}{detail}"));
            }
            var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 128 });
            var root = document.RootElement;
            JsonElement items;
            string? next = LinkNext(response);
            if (root.ValueKind == JsonValueKind.Array) items = root;
            else if (root.ValueKind == JsonValueKind.Object && (root.TryGetProperty("items", out items) || root.TryGetProperty("data", out items)) && items.ValueKind == JsonValueKind.Array)
                next ??= root.TryGetProperty("next", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() is { Length: > 0 } s ? s : null;
            else return SourceFetch.Failed("the answer is neither a JSON array nor an object with an 'items' array");
            return new SourceFetch([.. items.EnumerateArray().Select(i => i.GetRawText())], next, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return SourceFetch.Failed($"timed out after {Durations.Format(system.Timeout)}");
        }
        catch (HttpRequestException e)
        {
            return SourceFetch.Failed(Redact($"network error: {e.Message}"));
        }
        catch (OAuth2TokenException e)
        {
            return SourceFetch.Failed(Redact(e.Message));
        }
        catch (JsonException e)
        {
            return SourceFetch.Failed($"the answer is not JSON: {e.Message}");
        }
    }

    private static string? LinkNext(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var links)) return null;
        foreach (var part in links.SelectMany(l => l.Split(',')))
        {
            var pieces = part.Split(';', StringSplitOptions.TrimEntries);
            if (pieces.Length > 1 && pieces[0].StartsWith('<') && pieces[0].EndsWith('>') && pieces.Skip(1).Any(p => p.Replace(" ", "", StringComparison.Ordinal) is "rel=\"next\"" or "rel=next"))
                return pieces[0][1..^1];
        }
        return null;
    }

    private string Redact(string text) => context.Secrets.Redact(text) ?? "";

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
