using System.Net;
using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Journal;
using Lockstep.Records;

namespace Lockstep.Connectors.Http;

/// <summary>
/// Create-or-update for a target that assigns its own ids. The id comes from the identity map, else from the flow's
/// <c>lookup</c> (and is then stored); with an id the record is updated (or deleted), without one it is created and the
/// id taken from the answer is stored. No "create attempted" mark is written before a create: whenever no id is known
/// the lookup runs first, which covers every create whose outcome was lost (a timeout, a reset connection, a crash
/// before the id was stored) without a journal commit before each create.
/// </summary>
internal sealed partial class HttpConnector
{
    private async ValueTask<ConnectorResult> ApplyByTargetIdAsync(Delivery delivery, FlowDefinition flow, HttpFlowOptions settings, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (context.Identities is not { } ids) return ConnectorResult.Permanent("create-or-update needs the journal's identity map, and this connector was built without one");
        if (delivery.Op == RecordOp.Delete && settings.Delete is null) return ConnectorResult.Skipped("the flow has no delete operation");
        var (id, failure) = await TargetIdAsync(delivery, flow, settings, cancellationToken).ConfigureAwait(false);
        if (failure is { } lookupFailed) return lookupFailed;

        if (delivery.Op == RecordOp.Delete)
        {
            // Never created, or already gone: nothing to delete.
            if (id is null) return ConnectorResult.Success((int)HttpStatusCode.NotFound);
            var (deleted, deleteFailed) = await SendAsync(settings.Delete!, delivery, flow, id, null, cancellationToken).ConfigureAwait(false);
            if (deleted is null) return Prefixed(deleteFailed, "delete");
            using (deleted)
            {
                if (!deleted.IsSuccessStatusCode && deleted.StatusCode is not (HttpStatusCode.NotFound or HttpStatusCode.Gone))
                    return Prefixed(await ClassifyAsync(deleted, cancellationToken).ConfigureAwait(false), "delete");
                // Checkpoint: the record is gone at the target; a later upsert of it looks up, finds nothing and creates.
                await ids.ForgetIdAsync(delivery.Flow, delivery.Entity, delivery.Key, cancellationToken).ConfigureAwait(false);
                return ConnectorResult.Success((int)deleted.StatusCode);
            }
        }

        if (id is null) return await CreateAsync(delivery, flow, settings, body, ids, cancellationToken).ConfigureAwait(false);
        var (updated, updateFailed) = await SendAsync(settings.Update!, delivery, flow, id, body, cancellationToken).ConfigureAwait(false);
        if (updated is null) return Prefixed(updateFailed, "update");
        using (updated)
        {
            if (updated.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
            {
                // Deleted at the target behind our back: forget the id, so the retry looks the record up and creates it again.
                await ids.ForgetIdAsync(delivery.Flow, delivery.Entity, delivery.Key, cancellationToken).ConfigureAwait(false);
                return ConnectorResult.Transient(Redact($"update: the target has no record with id '{id}' (HTTP {(int)updated.StatusCode}); the next attempt looks it up again"), (int)updated.StatusCode);
            }
            return Prefixed(await ClassifyAsync(updated, cancellationToken).ConfigureAwait(false), "update");
        }
    }

    private async Task<ConnectorResult> CreateAsync(Delivery delivery, FlowDefinition flow, HttpFlowOptions settings, ReadOnlyMemory<byte> body, IIdentityStore ids, CancellationToken cancellationToken)
    {
        // A failure from here on may have created the record anyway (a timeout after the target applied it): the id stays
        // unknown, so the next attempt looks it up before it creates again.
        var (created, failure) = await SendAsync(settings.Create!, delivery, flow, null, body, cancellationToken).ConfigureAwait(false);
        if (created is null) return Prefixed(failure, "create");
        using (created)
        {
            var status = (int)created.StatusCode;
            if (!created.IsSuccessStatusCode) return Prefixed(await ClassifyAsync(created, cancellationToken).ConfigureAwait(false), "create");
            var (id, error) = await ReadIdAsync(created, settings.CreateId!, cancellationToken).ConfigureAwait(false);
            if (id is null)
                return ConnectorResult.Permanent(Redact($"create: HTTP {status}, but {error ?? $"the answer has no id at {settings.CreateId!.Text}"} (a replay looks the record up first)"), status);
            // Checkpoint: the id is durable; every later version of the record updates it.
            await ids.SaveIdAsync(delivery.Flow, delivery.Entity, delivery.Key, id, context.Time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            return ConnectorResult.Success(status);
        }
    }

    /// <summary>The record's target id: from the identity map, else by the flow's lookup (then stored); null when the target has none.</summary>
    private async Task<(string? Id, ConnectorResult? Failure)> TargetIdAsync(Delivery delivery, FlowDefinition flow, HttpFlowOptions settings, CancellationToken cancellationToken)
    {
        if (context.Identities is not { } ids) return (null, ConnectorResult.Permanent("create-or-update needs the journal's identity map, and this connector was built without one"));
        if (await ids.FindIdAsync(delivery.Flow, delivery.Entity, delivery.Key, cancellationToken).ConfigureAwait(false) is { } known) return (known, null);
        var (response, failure) = await SendAsync(settings.Lookup!, delivery, flow, null, null, cancellationToken).ConfigureAwait(false);
        if (response is null) return (null, Prefixed(failure, "lookup"));
        using (response)
        {
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone) return (null, null);
            if (!response.IsSuccessStatusCode) return (null, Prefixed(await ClassifyAsync(response, cancellationToken).ConfigureAwait(false), "lookup"));
            var (id, error) = await ReadIdAsync(response, settings.LookupId!, cancellationToken).ConfigureAwait(false);
            if (error is not null) return (null, ConnectorResult.Permanent(Redact($"lookup: HTTP {(int)response.StatusCode}, but {error}"), (int)response.StatusCode));
            if (id is not null)
                await ids.SaveIdAsync(delivery.Flow, delivery.Entity, delivery.Key, id, context.Time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            return (id, null);
        }
    }

    /// <summary>The id at <paramref name="path"/> in a JSON answer; an empty answer has none; an answer that is not JSON is an error.</summary>
    private static async Task<(string? Id, string? Error)> ReadIdAsync(HttpResponseMessage response, JsonPath path, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text)) return (null, null);
        try
        {
            using var document = JsonDocument.Parse(text);
            return (path.Find(document.RootElement), null);
        }
        catch (JsonException)
        {
            return (null, "the answer is not JSON");
        }
    }

    private async Task<(HttpResponseMessage? Response, ConnectorResult Failure)> SendAsync(
        HttpOperation operation, Delivery delivery, FlowDefinition flow, string? targetId, ReadOnlyMemory<byte>? body, CancellationToken cancellationToken)
    {
        try
        {
            var url = _http.Resolve(operation.RenderPath(delivery, targetId));
            var response = await _http.SendAsync(static s => BuildById(s.Operation, s.Url, s.Delivery, s.Flow, s.Body),
                (Operation: operation, Url: url, Delivery: delivery, Flow: flow, Body: body), HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            return (response, default);
        }
        catch (UnsendableRequestException e)
        {
            return (null, ConnectorResult.Permanent(Redact(e.Message)));
        }
        catch (Exception e) when (ConnectorResult.IsRequestFault(e))
        {
            return (null, ConnectorResult.Unsendable(Redact(e.Message)));
        }
        catch (HttpRequestException e)
        {
            return (null, ConnectorResult.Transient(Redact($"network error: {e.Message}")));
        }
        catch (OAuth2TokenException e)
        {
            return (null, TokenFailure(e));
        }
    }

    private static HttpRequestMessage BuildById(HttpOperation operation, Uri url, Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte>? body)
    {
        var request = new HttpRequestMessage(operation.Method, url);
        if (body is { } content)
        {
            request.Content = new ReadOnlyMemoryContent(content);
            request.Content.Headers.ContentType = Json;
        }
        if (operation.Method != HttpMethod.Get) request.Headers.TryAddWithoutValidation("Idempotency-Key", delivery.IdempotencyKey);
        foreach (var (name, value) in flow.Headers) request.Headers.TryAddWithoutValidation(name, Templates.Render(value, delivery));
        return request;
    }

    private static ConnectorResult Prefixed(ConnectorResult result, string step) =>
        result.Error is { } error ? result with { Error = $"{step}: {error}" } : result;
}
