using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Records;

namespace Lockstep.Connectors.Http.GoogleCalendar;

/// <summary>
/// Writes each record as one event of a Google calendar, with an event id derived from the record (base32hex of
/// <c>{entity}:{key}</c>), so create-or-update needs no lookup: <c>events.update</c> (PUT) first, and on 404
/// <c>events.insert</c> with that id (a 409 there means it was created meanwhile: retried, which updates it). Deletes
/// are <c>events.delete</c>; 404 and 410 (already deleted) count as done. 401 drops the access token and retries; 403
/// <c>rateLimitExceeded</c>/<c>userRateLimitExceeded</c>, 429 and 5xx back off (transient); other 4xx are permanent with
/// Google's message.
/// </summary>
internal sealed class GoogleCalendarConnector : IConnector
{
    private static readonly MediaTypeHeaderValue JsonType = new("application/json") { CharSet = "utf-8" };
    private readonly GoogleCalendarOptions _options;
    private readonly ConnectorContext _context;
    private readonly HttpClient _client;
    private readonly GoogleTokens _tokens;

    public GoogleCalendarConnector(SystemDefinition system, GoogleCalendarOptions options, ConnectorContext context)
    {
        _options = options;
        _context = context;
        _client = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = system.Concurrency,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(Math.Min(system.Timeout.TotalSeconds, 15)),
            UseCookies = false,
        })
        { Timeout = Timeout.InfiniteTimeSpan };
        _tokens = new GoogleTokens(options.Credentials, _client, context.Time);
    }

    /// <summary>The event id for a record: base32hex (RFC 4648 §7, lowercase a–v and 0–9) of UTF-8 <c>{entity}:{key}</c>; a hash when that would pass 1024 characters.</summary>
    public static string EventId(string entity, string key)
    {
        var id = Base32Hex(Encoding.UTF8.GetBytes($"{entity}:{key}"));
        return id.Length <= 1024 ? id : "h" + Base32Hex(SHA256.HashData(Encoding.UTF8.GetBytes($"{entity}:{key}")));
    }

    private static string Base32Hex(byte[] bytes)
    {
        const string Alphabet = "0123456789abcdefghijklmnopqrstuv";
        var text = new StringBuilder((bytes.Length * 8 + 4) / 5);
        int buffer = 0, bits = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                text.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        if (bits > 0) text.Append(Alphabet[(buffer << (5 - bits)) & 31]);
        return text.ToString();
    }

    public async ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var id = EventId(delivery.Entity, delivery.Key);
        try
        {
            if (delivery.Op == RecordOp.Delete)
            {
                using var deleted = await SendAsync(HttpMethod.Delete, _options.Event(id), null, delivery, flow, cancellationToken).ConfigureAwait(false);
                if (deleted.IsSuccessStatusCode || deleted.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone) return ConnectorResult.Success((int)deleted.StatusCode);
                return await FailureAsync(deleted, cancellationToken).ConfigureAwait(false);
            }
            var (resource, invalid) = Event(body, id, delivery);
            if (resource is null) return ConnectorResult.Permanent(invalid!);
            using var updated = await SendAsync(HttpMethod.Put, _options.Event(id), resource, delivery, flow, cancellationToken).ConfigureAwait(false);
            if (updated.IsSuccessStatusCode) return ConnectorResult.Success((int)updated.StatusCode);
            if (updated.StatusCode != HttpStatusCode.NotFound) return await FailureAsync(updated, cancellationToken).ConfigureAwait(false);
            // Not there yet: insert it under the same id.
            using var inserted = await SendAsync(HttpMethod.Post, _options.Events, resource, delivery, flow, cancellationToken).ConfigureAwait(false);
            if (inserted.IsSuccessStatusCode) return ConnectorResult.Success((int)inserted.StatusCode);
            if (inserted.StatusCode == HttpStatusCode.Conflict)
                return ConnectorResult.Transient("HTTP 409: the event was created meanwhile; retrying as an update", 409);
            return await FailureAsync(inserted, cancellationToken).ConfigureAwait(false);
        }
        catch (GoogleTokenException e)
        {
            return ConnectorResult.Transient(Redact($"no access token: {e.Message}"), e.Status);
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

    /// <summary>
    /// The event resource: the mapped record with our id, <c>status: confirmed</c> unless mapped (an update brings a
    /// deleted event back), a <c>date</c> given as a full timestamp cut to its date, a missing <c>end</c> set to the
    /// next day (all-day) or the start (timed), and the record's identity in <c>extendedProperties.private</c>.
    /// </summary>
    private static (byte[]? Body, string? Error) Event(ReadOnlyMemory<byte> body, string id, Delivery delivery)
    {
        JsonObject record;
        try
        {
            if (JsonNode.Parse(body.Span) is not JsonObject parsed) return (null, "the mapped record must be a JSON object (an event resource: summary, start, end...)");
            record = parsed;
        }
        catch (JsonException e)
        {
            return (null, $"the mapped record is not JSON: {e.Message}");
        }
        record["id"] = id;
        record["status"] ??= "confirmed";
        if (record["start"] is not JsonObject start) return (null, "the mapped event needs 'start' ({ date: 'YYYY-MM-DD' } or { dateTime, timeZone })");
        foreach (var name in new[] { "start", "end" })
        {
            if (record[name] is not JsonObject time) continue;
            if (time["date"] is JsonValue date && date.TryGetValue<string>(out var text) && text.Length > 10)
            {
                if (!DateOnly.TryParseExact(text[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
                    return (null, $"{name}.date '{text}' is not a date (YYYY-MM-DD)");
                time["date"] = text[..10];
            }
            if (time["date"] is null && time["dateTime"] is null) return (null, $"{name} needs 'date' (all-day) or 'dateTime'");
        }
        if (record["end"] is null)
        {
            if (start["date"] is JsonValue d && d.TryGetValue<string>(out var day) && DateOnly.TryParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var first))
                record["end"] = new JsonObject { ["date"] = first.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) };
            else record["end"] = start.DeepClone();
        }
        var extended = record["extendedProperties"] as JsonObject ?? new JsonObject();
        record["extendedProperties"] = extended;
        var own = extended["private"] as JsonObject ?? new JsonObject();
        extended["private"] = own;
        own["lockstepEntity"] = delivery.Entity;
        own["lockstepKey"] = delivery.Key;
        own["lockstepVersion"] = delivery.Version.ToString(CultureInfo.InvariantCulture);
        return (Encoding.UTF8.GetBytes(record.ToJsonString()), null);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, byte[]? body, Delivery? delivery, FlowDefinition? flow, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var token = await _tokens.GetAsync(cancellationToken).ConfigureAwait(false);
            using var request = new HttpRequestMessage(method, url);
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = JsonType;
            }
            if (delivery is not null && flow is not null)
            {
                foreach (var (name, value) in flow.Headers) request.Headers.TryAddWithoutValidation(name, Templates.Render(value, delivery));
            }
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            UnsendableRequestException.ThrowIfUnsendable(request);
            var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Unauthorized || attempt > 0) return response;
            // The token was revoked or expired early: get a new one once.
            response.Dispose();
            _tokens.Invalidate(token);
        }
    }

    private async Task<ConnectorResult> FailureAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var (reason, message) = GoogleError(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        var error = Redact($"HTTP {status}{(reason is null ? "" : $" {reason}")}: {message ?? response.ReasonPhrase}");
        var retryAfter = response.Headers.RetryAfter?.Delta is { } delta && delta > TimeSpan.Zero ? delta : (TimeSpan?)null;
        if (status is 401 or 408 or 429 or >= 500 || (status == 403 && reason is "rateLimitExceeded" or "userRateLimitExceeded" or "quotaExceeded"))
            return ConnectorResult.Transient(error, status, retryAfter);
        return ConnectorResult.Permanent(error, status);
    }

    /// <summary>Google's error shape: <c>{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}</c>.</summary>
    private static (string? Reason, string? Message) GoogleError(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (!json.RootElement.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object) return (null, null);
            var message = error.TryGetProperty("message", out var m) ? m.GetString() : null;
            string? reason = null;
            if (error.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0
                && errors[0].TryGetProperty("reason", out var r)) reason = r.GetString();
            return (reason, message is { Length: > 300 } ? message[..297] + "..." : message);
        }
        catch (JsonException)
        {
            return (null, null);
        }
    }

    public async ValueTask<TargetRead> ReadAsync(Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await SendAsync(HttpMethod.Get, _options.Event(EventId(delivery.Entity, delivery.Key)), null, null, null, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone) return TargetRead.Missing;
            if (!response.IsSuccessStatusCode) return TargetRead.Failed((await FailureAsync(response, cancellationToken).ConfigureAwait(false)).Error ?? "");
            var json = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            using var parsed = JsonDocument.Parse(json);
            // A deleted event stays readable with status "cancelled": for reconciliation it is gone.
            if (parsed.RootElement.TryGetProperty("status", out var s) && s.GetString() == "cancelled") return TargetRead.Missing;
            return TargetRead.Found(json);
        }
        catch (GoogleTokenException e)
        {
            return TargetRead.Failed(Redact($"no access token: {e.Message}"));
        }
        catch (HttpRequestException e)
        {
            return TargetRead.Failed(Redact($"network error: {e.Message}"));
        }
        catch (JsonException)
        {
            return TargetRead.Failed("the event is not JSON");
        }
    }

    private string Redact(string text) => _context.Secrets.Redact(text) ?? "";

    public ValueTask DisposeAsync()
    {
        _tokens.Dispose();
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
