using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Records;

namespace Lockstep.Connectors.CalDav;

/// <summary>
/// Writes each record version as one VEVENT with <c>PUT {calendar}/{uid}.ics</c> (<c>UID = {entity}-{key}</c>), with
/// <c>If-Match</c> on the ETag it last saw for that UID, and removes it with <c>DELETE</c> (404 counts as done). A 412
/// means the event changed since: the connector re-reads it, and reports done when the server already holds this
/// version or a newer one, else a transient failure so the engine retries with the fresh ETag. Classification is the
/// http connector's: network errors, 408, 425, 429 and 5xx transient; 401, 403, 400 and other 4xx permanent.
/// </summary>
internal sealed class CalDavConnector(SystemDefinition system, CalDavSystemOptions options, ConnectorContext context) : IConnector
{
    // One ETag per UID this process wrote; bounded, because an ETag is only an optimisation (a miss means a plain PUT).
    private const int MaxCachedEtags = 100_000;
    private static readonly MediaTypeHeaderValue CalendarType = new("text/calendar") { CharSet = "utf-8" };
    private readonly ConcurrentDictionary<string, EntityTagHeaderValue> _etags = new(StringComparer.Ordinal);
    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        MaxConnectionsPerServer = system.Concurrency,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(Math.Min(system.Timeout.TotalSeconds, 15)),
        UseCookies = false,
    })
    {
        // The attempt timeout is the engine's (Polly, on its TimeProvider).
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public static string Uid(Delivery delivery) => $"{delivery.Entity}-{delivery.Key}";

    public async ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var uid = Uid(delivery);
        try
        {
            var url = options.EventUrl(uid);
            return delivery.Op == RecordOp.Delete
                ? await DeleteAsync(uid, url, delivery, flow, cancellationToken).ConfigureAwait(false)
                : await PutAsync(uid, url, delivery, flow, body, cancellationToken).ConfigureAwait(false);
        }
        catch (Http.UnsendableRequestException e)
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
    }

    private async Task<ConnectorResult> PutAsync(string uid, Uri url, Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var entry = CalendarEntry.FromMapped(body, out var error);
        if (entry is null) return ConnectorResult.Permanent(Redact(error!));
        var ics = entry.ToIcs(uid, delivery.Version, delivery.IdempotencyKey, context.Time.GetUtcNow());

        using var request = Request(HttpMethod.Put, url, delivery, flow);
        request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(ics));
        request.Content.Headers.ContentType = CalendarType;
        if (_etags.TryGetValue(uid, out var etag)) request.Headers.IfMatch.Add(etag);

        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300)
        {
            Remember(uid, response.Headers.ETag);
            return ConnectorResult.Success(status);
        }
        if (response.StatusCode == HttpStatusCode.PreconditionFailed) return await RefreshAsync(uid, url, delivery, cancellationToken).ConfigureAwait(false);
        return await FailureAsync(response, cancellationToken).ConfigureAwait(false);
    }

    // The event changed since we last wrote it (someone edited it, or our own write's answer was lost).
    private async Task<ConnectorResult> RefreshAsync(string uid, Uri url, Delivery delivery, CancellationToken cancellationToken)
    {
        _etags.TryRemove(uid, out _);
        using var request = Request(HttpMethod.Get, url, null, null);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            var held = CalendarEntry.VersionOf(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            if (held >= delivery.Version) return ConnectorResult.Success(412);
            Remember(uid, response.Headers.ETag);
        }
        else if (response.StatusCode is not (HttpStatusCode.NotFound or HttpStatusCode.Gone))
        {
            return await FailureAsync(response, cancellationToken).ConfigureAwait(false);
        }
        return ConnectorResult.Transient("HTTP 412 Precondition Failed: the event changed on the server; retrying with its current ETag", 412);
    }

    private async Task<ConnectorResult> DeleteAsync(string uid, Uri url, Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Delete, url, delivery, flow);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        if (status is >= 200 and < 300 || response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            _etags.TryRemove(uid, out _);
            return ConnectorResult.Success(status);
        }
        return await FailureAsync(response, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<TargetRead> ReadAsync(Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, options.EventUrl(Uid(delivery)), null, null);
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone) return TargetRead.Missing;
            if (!response.IsSuccessStatusCode) return TargetRead.Failed(Redact($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}"));
            var json = CalendarEntry.ReadJson(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            return json is null ? TargetRead.Failed("the calendar object holds no VEVENT") : TargetRead.Found(json);
        }
        catch (HttpRequestException e)
        {
            return TargetRead.Failed(Redact($"network error: {ErrorChain.Of(e)}"));
        }
    }

    private HttpRequestMessage Request(HttpMethod method, Uri url, Delivery? delivery, FlowDefinition? flow)
    {
        var request = new HttpRequestMessage(method, url);
        if (delivery is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", delivery.IdempotencyKey);
            foreach (var (name, value) in flow!.Headers) request.Headers.TryAddWithoutValidation(name, Http.Templates.Render(value, delivery));
        }
        if (options.Auth is { } auth)
        {
            request.Headers.Remove(auth.Header);
            request.Headers.TryAddWithoutValidation(auth.Header, auth.Value.Reveal());
        }
        Http.UnsendableRequestException.ThrowIfUnsendable(request);
        return request;
    }

    private void Remember(string uid, EntityTagHeaderValue? etag)
    {
        if (etag is null)
        {
            _etags.TryRemove(uid, out _);
            return;
        }
        if (_etags.Count >= MaxCachedEtags) _etags.Clear();
        _etags[uid] = etag;
    }

    private async Task<ConnectorResult> FailureAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var detail = await Http.HttpConnector.ReadDetailAsync(response, cancellationToken).ConfigureAwait(false);
        var error = Redact($"HTTP {status} {response.ReasonPhrase}{detail}");
        if (status is 408 or 425 or 429 or >= 500)
        {
            var retryAfter = response.Headers.RetryAfter?.Delta is { } delta && delta > TimeSpan.Zero ? delta : (TimeSpan?)null;
            return ConnectorResult.Transient(error, status, retryAfter);
        }
        return ConnectorResult.Permanent(error, status);
    }

    private string Redact(string text) => context.Secrets.Redact(text) ?? "";

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
