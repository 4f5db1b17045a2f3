using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Records;
using Lockstep.Sources;

namespace Lockstep.Connectors.Http.Webhooks;

/// <summary>
/// Sends <c>POST url</c> with <c>{"type","entity","key","version","op","data"}</c> (data = the mapped record; null for a
/// delete) and the Standard Webhooks headers: <c>webhook-id</c> = the idempotency key (the same on every retry),
/// <c>webhook-timestamp</c> = this attempt, <c>webhook-signature</c> = one <c>v1,</c> entry per secret. As a sender:
/// 2xx is success; a redirect is a failure; 410 Gone disables the subscriber (every later delivery dead-letters until
/// restart); 408, 429 and 5xx are retried, honouring Retry-After; other 4xx are permanent.
/// </summary>
internal sealed class WebhookConnector(SystemDefinition system, WebhookOptions options, ConnectorContext context) : IConnector
{
    private static readonly MediaTypeHeaderValue Json = new("application/json") { CharSet = "utf-8" };
    private readonly HttpSystemClient _http = new(system, new HttpSystemOptions(options.Url, null, options.Headers));
    private volatile bool _gone;

    public async ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (_gone) return ConnectorResult.Permanent("the subscriber answered 410 Gone earlier: it is disabled until Lockstep restarts", 410);
        using var request = new HttpRequestMessage(HttpMethod.Post, options.Url);
        try
        {
            // The id is the idempotency key, percent-encoded like every key in a header; the signature covers it as sent.
            var id = delivery.IdempotencyKey;
            var payload = Payload(delivery, body);
            var timestamp = context.Time.GetUtcNow().ToUnixTimeSeconds();
            request.Content = new ByteArrayContent(payload);
            request.Content.Headers.ContentType = Json;
            request.Headers.TryAddWithoutValidation("webhook-id", id);
            request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
            request.Headers.TryAddWithoutValidation("webhook-signature",
                string.Join(' ', options.Secrets.Select(s => WebhookCheck.Sign(s.Reveal(), id, timestamp, payload))));
            foreach (var (name, value) in flow.Headers) request.Headers.TryAddWithoutValidation(name, Templates.Render(value, delivery));
            _http.Prepare(request);
            UnsendableRequestException.ThrowIfUnsendable(request);
        }
        catch (UnsendableRequestException e)
        {
            return ConnectorResult.Permanent(context.Secrets.Redact(e.Message) ?? "");
        }
        catch (Exception e) when (ConnectorResult.IsRequestFault(e))
        {
            return ConnectorResult.Unsendable(context.Secrets.Redact(e.Message) ?? "");
        }
        try
        {
            using var response = await _http.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (status is >= 200 and < 300) return ConnectorResult.Success(status);
            if (response.StatusCode == HttpStatusCode.Gone)
            {
                _gone = true;
                return ConnectorResult.Permanent("HTTP 410 Gone: the subscriber is disabled", status);
            }
            var error = context.Secrets.Redact($"HTTP {status} {response.ReasonPhrase}") ?? "";
            if (status is >= 300 and < 400) return ConnectorResult.Permanent(error + " (redirects are not followed)", status);
            if (status is 408 or 429 or >= 500)
                return ConnectorResult.Transient(error, status, response.Headers.RetryAfter?.Delta ?? (response.Headers.RetryAfter?.Date - context.Time.GetUtcNow()));
            return ConnectorResult.Permanent(error, status);
        }
        catch (HttpRequestException e)
        {
            return ConnectorResult.Transient(context.Secrets.Redact($"network error: {ErrorChain.Of(e)}") ?? "");
        }
    }

    private static byte[] Payload(Delivery d, ReadOnlyMemory<byte> body)
    {
        var head = $"{{\"type\":{Quote(d.EventType)},\"entity\":{Quote(d.Entity)},\"key\":{Quote(d.Key)},\"version\":{d.Version.ToString(CultureInfo.InvariantCulture)},\"op\":\"{(d.Op == RecordOp.Delete ? "delete" : "upsert")}\",\"data\":";
        var data = d.Op == RecordOp.Delete || body.IsEmpty ? "null"u8.ToArray() : body.ToArray();
        return [.. Encoding.UTF8.GetBytes(head), .. data, (byte)'}'];
    }

    private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    public ValueTask<TargetRead> ReadAsync(Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken) =>
        ValueTask.FromResult(TargetRead.Failed("a webhook subscriber cannot be read back"));

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
