using System.Net;
using System.Net.Http.Headers;
using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Records;

namespace Lockstep.Connectors.Http;

/// <summary>
/// Sends one request per record version: the flow's upsert (body = the mapped record) or delete operation, with
/// <c>Idempotency-Key</c>, and classifies the answer: 2xx done; 408, 425, 429, 5xx and network errors transient
/// (Retry-After passed on); a 404/410 to a delete done; redirects and other 4xx permanent.
/// </summary>
internal sealed partial class HttpConnector(SystemDefinition system, HttpSystemOptions options, ConnectorContext context) : IConnector, IBatchConnector
{
    private static readonly MediaTypeHeaderValue Json = new("application/json") { CharSet = "utf-8" };
    private readonly HttpSystemClient _http = new(system, options, context.Time);

    public async ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var settings = (HttpFlowOptions)flow.Settings!;
        if (settings.Create is not null) return await ApplyByTargetIdAsync(delivery, flow, settings, body, cancellationToken).ConfigureAwait(false);
        var operation = delivery.Op == RecordOp.Delete ? settings.Delete : settings.Upsert;
        if (operation is null && delivery.Op == RecordOp.Upsert) return ConnectorResult.Permanent("the flow has no upsert operation (only 'batch')");
        if (operation is null) return ConnectorResult.Skipped("the flow has no delete operation");

        HttpResponseMessage response;
        try
        {
            var url = _http.Resolve(operation.RenderPath(delivery));
            response = await _http.SendAsync(static s => Build(s.Operation, s.Url, s.Delivery, s.Flow, s.Body),
                (Operation: operation, Url: url, Delivery: delivery, Flow: flow, Body: body), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (UnsendableRequestException e)
        {
            return ConnectorResult.Permanent(Redact(e.Message));
        }
        catch (Exception e) when (ConnectorResult.IsRequestFault(e))
        {
            return ConnectorResult.Unsendable(Redact(e.Message));
        }
        catch (HttpRequestException e)
        {
            return ConnectorResult.Transient(Redact($"network error: {ErrorChain.Of(e)}"));
        }
        catch (OAuth2TokenException e)
        {
            return TokenFailure(e);
        }
        using (response)
        {
            if (delivery.Op == RecordOp.Delete && response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
                return ConnectorResult.Success((int)response.StatusCode);
            return await ClassifyAsync(response, cancellationToken).ConfigureAwait(false);
        }
    }

    private static HttpRequestMessage Build(HttpOperation operation, Uri url, Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body)
    {
        var request = new HttpRequestMessage(operation.Method, url);
        if (delivery.Op == RecordOp.Upsert)
        {
            request.Content = new ReadOnlyMemoryContent(body);
            request.Content.Headers.ContentType = Json;
        }
        request.Headers.TryAddWithoutValidation("Idempotency-Key", delivery.IdempotencyKey);
        foreach (var (name, value) in flow.Headers) request.Headers.TryAddWithoutValidation(name, Templates.Render(value, delivery));
        return request;
    }

    private async Task<ConnectorResult> ClassifyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300) return ConnectorResult.Success(status);
        var detail = await ReadDetailAsync(response, cancellationToken).ConfigureAwait(false);
        var error = Redact($"HTTP {status} {response.ReasonPhrase}{detail}");
        return status is 408 or 425 or 429 or >= 500
            ? ConnectorResult.Transient(error, status, RetryAfter(response))
            : ConnectorResult.Permanent(error, status);
    }

    public TimeSpan? Linger(FlowDefinition flow) => flow.Settings is HttpFlowOptions { Batch: not null } settings ? settings.Linger : null;

    public int? MaxBatch(FlowDefinition flow) => (flow.Settings as HttpFlowOptions)?.BatchSize;

    /// <summary>
    /// One request with the mapped records as a JSON array, and their idempotency keys, in the same order, in
    /// <c>Idempotency-Keys</c> (comma-separated, each percent-encoded once more, so a receiver that decodes each gets the
    /// record's <c>Idempotency-Key</c>). The answer applies to every record in it.
    /// </summary>
    public async ValueTask<IReadOnlyList<ConnectorResult>> ApplyBatchAsync(IReadOnlyList<BatchItem> items, FlowDefinition flow, CancellationToken cancellationToken)
    {
        var operation = ((HttpFlowOptions)flow.Settings!).Batch!;
        var url = _http.Resolve(operation.Path);
        // A record whose key cannot be written is its own failure; the rest of the batch goes without it.
        var results = new ConnectorResult[items.Count];
        var keys = new List<string>(items.Count);
        var sendable = new List<int>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            try
            {
                keys.Add(KeyEncoder.Encode(items[i].Delivery.IdempotencyKey));
                sendable.Add(i);
            }
            catch (ArgumentException e)
            {
                results[i] = ConnectorResult.Unsendable(Redact(e.Message));
            }
        }
        if (sendable.Count == 0) return results;
        var result = await SendBatchAsync(operation, url, [.. sendable.Select(i => items[i])], string.Join(',', keys), flow, cancellationToken).ConfigureAwait(false);
        foreach (var i in sendable) results[i] = result;
        return results;
    }

    private async Task<ConnectorResult> SendBatchAsync(HttpOperation operation, Uri url, IReadOnlyList<BatchItem> items, string keys, FlowDefinition flow, CancellationToken cancellationToken)
    {
        var length = 2 + items.Sum(i => i.Body.Length + 1);
        var body = new byte[length];
        var at = 0;
        body[at++] = (byte)'[';
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0) body[at++] = (byte)',';
            items[i].Body.Span.CopyTo(body.AsSpan(at));
            at += items[i].Body.Length;
        }
        body[at++] = (byte)']';
        HttpRequestMessage Build()
        {
            var request = new HttpRequestMessage(operation.Method, url) { Content = new ByteArrayContent(body, 0, at) };
            request.Content.Headers.ContentType = Json;
            request.Headers.TryAddWithoutValidation("Idempotency-Keys", keys);
            // Headers with placeholders name one record; a batch carries many, so only constant headers go along.
            foreach (var (name, value) in flow.Headers)
            {
                if (!value.Contains('{', StringComparison.Ordinal)) request.Headers.TryAddWithoutValidation(name, value);
            }
            return request;
        }

        ConnectorResult result;
        try
        {
            using var response = await _http.SendAsync(Build, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            result = await ClassifyAsync(response, cancellationToken).ConfigureAwait(false);
        }
        catch (UnsendableRequestException e)
        {
            result = ConnectorResult.Permanent(Redact(e.Message));
        }
        catch (HttpRequestException e)
        {
            result = ConnectorResult.Transient(Redact($"network error: {ErrorChain.Of(e)}"));
        }
        catch (OAuth2TokenException e)
        {
            result = TokenFailure(e);
        }
        return result;
    }

    public async ValueTask<TargetRead> ReadAsync(Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken)
    {
        var settings = (HttpFlowOptions)flow.Settings!;
        if (settings.Get is null) return TargetRead.Failed("the flow has no 'get' operation");
        string? targetId = null;
        if (settings.Create is not null && Templates.HasTargetId(settings.Get.Path))
        {
            var (id, failure) = await TargetIdAsync(delivery, flow, settings, cancellationToken).ConfigureAwait(false);
            if (failure is { } f) return TargetRead.Failed(f.Error ?? "the lookup failed");
            if (id is null) return TargetRead.Missing;
            targetId = id;
        }
        try
        {
            var url = _http.Resolve(settings.Get.RenderPath(delivery, targetId));
            using var response = await _http.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, url), HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone) return TargetRead.Missing;
            if (!response.IsSuccessStatusCode) return TargetRead.Failed(Redact($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}"));
            return TargetRead.Found(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (UnsendableRequestException e)
        {
            return TargetRead.Failed(Redact(e.Message));
        }
        catch (Exception e) when (ConnectorResult.IsRequestFault(e))
        {
            return TargetRead.Failed(Redact($"the request cannot be built: {e.Message}"));
        }
        catch (HttpRequestException e)
        {
            return TargetRead.Failed(Redact($"network error: {ErrorChain.Of(e)}"));
        }
        catch (OAuth2TokenException e)
        {
            return TargetRead.Failed(Redact(e.Message));
        }
    }

    public async ValueTask<TargetPage> ListAsync(FlowDefinition flow, string? nextPage, CancellationToken cancellationToken)
    {
        var settings = (HttpFlowOptions)flow.Settings!;
        if (settings is not { List: { } list, ListKey: { } keyField }) return TargetPage.Failed("the flow has no 'list' operation");
        var (items, answered, error) = await HttpPages.FetchAsync(_http, system, _http.Resolve(list.Target(nextPage)),
            i => new TargetItem(HttpPages.Field(i, keyField), i.GetRawText()), context.Secrets, cancellationToken).ConfigureAwait(false);
        return error is null ? new TargetPage(items, list.Next(nextPage, items.Count, answered), null) : TargetPage.Failed(error);
    }

    private ConnectorResult TokenFailure(OAuth2TokenException e) =>
        e.Transient ? ConnectorResult.Transient(Redact(e.Message), e.StatusCode) : ConnectorResult.Permanent(Redact(e.Message), e.StatusCode);

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        if (header?.Date is { } date)
        {
            var wait = date - context.Time.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }
        return null;
    }

    internal static async Task<string> ReadDetailAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            text = text.Trim().ReplaceLineEndings(" ");
            if (text.Length == 0) return "";
            return ": " + (text.Length > 300 ? text[..300] + "..." : text);
        }
        catch (HttpRequestException)
        {
            return "";
        }
    }

    private string Redact(string text) => context.Secrets.Redact(text) ?? "";

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
