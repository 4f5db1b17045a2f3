using System.Text.Json;
using Lockstep.Configuration;

namespace Lockstep.Connectors.Http;

/// <summary>
/// Reads one page of a JSON list, for poll sources and for a flow's <c>list</c> operation alike: the answer is a JSON
/// array of items, or an object with an <c>items</c>/<c>data</c> array and an optional <c>next</c> (a URL or path, or a
/// token); a <c>Link: &lt;…&gt;; rel="next"</c> header also names the next page.
/// </summary>
internal static class HttpPages
{
    /// <summary>One page: the items (as <paramref name="select"/> makes them), the next page named by the answer, or why it failed (redacted).</summary>
    public static async Task<(List<T> Items, string? Next, string? Error)> FetchAsync<T>(
        HttpSystemClient http, SystemDefinition system, Uri target, Func<JsonElement, T> select, SecretRedactor secrets, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(system.Timeout);
        try
        {
            using var response = await http.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, target), HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var detail = await HttpConnector.ReadDetailAsync(response, cancellationToken).ConfigureAwait(false);
                return ([], null, Redact(secrets, $"GET {target.AbsolutePath} answered HTTP {(int)response.StatusCode}{detail}"));
            }
            var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            using var document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 128 });
            var root = document.RootElement;
            JsonElement items;
            var next = LinkNext(response);
            if (root.ValueKind == JsonValueKind.Array) items = root;
            else if (root.ValueKind == JsonValueKind.Object && (root.TryGetProperty("items", out items) || root.TryGetProperty("data", out items)) && items.ValueKind == JsonValueKind.Array)
                next ??= root.TryGetProperty("next", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() is { Length: > 0 } s ? s : null;
            else return ([], null, "the answer is neither a JSON array nor an object with an 'items' array");
            return ([.. items.EnumerateArray().Select(select)], next, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ([], null, $"timed out after {Durations.Format(system.Timeout)}");
        }
        catch (HttpRequestException e)
        {
            return ([], null, Redact(secrets, $"network error: {ErrorChain.Of(e)}"));
        }
        catch (OAuth2TokenException e)
        {
            return ([], null, Redact(secrets, e.Message));
        }
        catch (JsonException e)
        {
            return ([], null, $"the answer is not JSON: {e.Message}");
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

    /// <summary>The text of a (dotted) field holding a key: a string, or a number as written; null when absent.</summary>
    public static string? Field(JsonElement item, string path)
    {
        var current = item;
        foreach (var part in path.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(part, out current)) return null;
        }
        return current.ValueKind switch
        {
            JsonValueKind.String => current.GetString(),
            JsonValueKind.Number => current.GetRawText(),
            _ => null,
        };
    }

    private static string Redact(SecretRedactor secrets, string text) => secrets.Redact(text) ?? "";
}
