using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Records;

namespace Lockstep.Connectors.Http.Soap;

/// <summary>
/// Posts each record version as a SOAP envelope filled from the flow's template (a delete with <c>deleteEnvelope</c>).
/// An answer's fault decides: <c>soap:Server</c> / <c>env:Receiver</c> is transient, <c>soap:Client</c> /
/// <c>env:Sender</c> (and any other code) permanent, the fault string in the attempt's error. Without a fault the HTTP
/// status decides as for the http connector: 2xx done; 408, 425, 429, 5xx and network errors transient; other 4xx permanent.
/// </summary>
internal sealed class SoapConnector(SystemDefinition system, SoapSystemOptions options, ConnectorContext context) : IConnector
{
    private const int MaxAnswer = 64 * 1024;
    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        MaxConnectionsPerServer = system.Concurrency,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(Math.Min(system.Timeout.TotalSeconds, 15)),
        UseCookies = false,
    })
    {
        // The attempt timeout is the engine's.
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public async ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var settings = (SoapFlowOptions)flow.Settings!;
        var delete = delivery.Op == RecordOp.Delete;
        var template = delete ? settings.DeleteEnvelope : settings.Envelope;
        if (template is null) return ConnectorResult.Permanent("this flow has no deleteEnvelope: deleting over SOAP needs one (the operation that removes a record)");
        var action = delete ? settings.DeleteAction : settings.Action;
        try
        {
            XmlFilled filled;
            if (delete) filled = Fill(template, delivery, null, "deleteEnvelope");
            else
            {
                using var record = JsonDocument.Parse(body);
                filled = Fill(template, delivery, record.RootElement, "envelope");
            }
            if (filled.Error is not null) return ConnectorResult.Permanent(Redact(filled.Error));
            var envelope = SoapMessages.Envelope(filled.Xml!, template.IsEnvelope, settings.Version, options.UsernameToken, context.Time.GetUtcNow());
            using var request = new HttpRequestMessage(HttpMethod.Post, options.Url) { Content = new ByteArrayContent(envelope) };
            if (settings.Version == SoapVersion.Soap11)
            {
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/xml") { CharSet = "utf-8" };
                request.Headers.TryAddWithoutValidation("SOAPAction", $"\"{action ?? ""}\"");
            }
            else
            {
                var type = new MediaTypeHeaderValue("application/soap+xml") { CharSet = "utf-8" };
                if (action is not null) type.Parameters.Add(new NameValueHeaderValue("action", $"\"{action}\""));
                request.Content.Headers.ContentType = type;
            }
            request.Headers.TryAddWithoutValidation("Idempotency-Key", delivery.IdempotencyKey);
            foreach (var (name, value) in flow.Headers) request.Headers.TryAddWithoutValidation(name, Templates.Render(value, delivery));
            if (options.Auth is { } auth)
            {
                request.Headers.Remove(auth.Header);
                request.Headers.TryAddWithoutValidation(auth.Header, auth.Value.Reveal());
            }
            UnsendableRequestException.ThrowIfUnsendable(request);
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            return await OutcomeAsync(response, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            return ConnectorResult.Permanent($"the mapped record is not JSON: {e.Message}");
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
            return ConnectorResult.Transient(Redact($"network error: {e.Message}"));
        }
    }

    private static XmlFilled Fill(SoapTemplate template, Delivery delivery, JsonElement? record, string key)
    {
        var (xml, error) = template.Render(delivery, record, key);
        return new XmlFilled(xml, error);
    }

    private async Task<ConnectorResult> OutcomeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var answer = await ReadAsync(response, cancellationToken).ConfigureAwait(false);
        if (SoapMessages.Fault(answer) is { } fault)
        {
            var error = Redact($"SOAP fault {fault.Code}: {Shorten(fault.Text)} (HTTP {status})");
            return fault.Receiver ? ConnectorResult.Transient(error, status) : ConnectorResult.Permanent(error, status);
        }
        if (status is >= 200 and < 300) return ConnectorResult.Success(status);
        var failure = Redact($"HTTP {status} {response.ReasonPhrase}");
        if (status is 408 or 425 or 429 or >= 500)
        {
            var retryAfter = response.Headers.RetryAfter?.Delta is { } delta && delta > TimeSpan.Zero ? delta : (TimeSpan?)null;
            return ConnectorResult.Transient(failure, status, retryAfter);
        }
        return ConnectorResult.Permanent(failure, status);
    }

    // The answer's start (a fault is small); a huge answer is not read to its end.
    private static async Task<string> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using var scope = stream.ConfigureAwait(false);
        var buffer = new byte[MaxAnswer];
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (n == 0) break;
            read += n;
        }
        return Encoding.UTF8.GetString(buffer, 0, read);
    }

    private static string Shorten(string text) => text.Length <= 500 ? text : text[..497] + "...";

    public ValueTask<TargetRead> ReadAsync(Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken) =>
        ValueTask.FromResult(TargetRead.Failed("a soap target has no read operation (not supported yet)"));

    private string Redact(string text) => context.Secrets.Redact(text) ?? "";

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    private readonly record struct XmlFilled(System.Xml.Linq.XElement? Xml, string? Error);
}
