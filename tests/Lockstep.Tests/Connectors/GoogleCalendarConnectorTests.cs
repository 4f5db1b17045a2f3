using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Lockstep.Configuration;
using Lockstep.Records;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Tests.Connectors;

/// <summary>
/// The google-calendar connector against a Google Calendar API v3 emulator (Kestrel on 127.0.0.1): an OAuth2 token
/// endpoint that verifies the service account JWT's RS256 signature and its claims (iss, scope, aud, exp, iat) or a
/// refresh token, and the events endpoints (get, insert, update, delete) with the documented shapes and errors.
/// </summary>
public sealed partial class GoogleCalendarConnectorTests : IAsyncDisposable
{
    private const string ClientEmail = "lockstep@fema-sync.iam.gserviceaccount.com";
    private readonly CalendarEmulator _google = new();
    private readonly TempFolder _folder = new();

    public async ValueTask DisposeAsync()
    {
        await _google.DisposeAsync();
        _folder.Dispose();
    }

    private string KeyFile(RSA key, string? tokenUri = null)
    {
        var path = Path.Combine(_folder.Path, "key.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["type"] = "service_account",
            ["project_id"] = "fema-sync",
            ["private_key_id"] = "k1",
            ["private_key"] = key.ExportPkcs8PrivateKeyPem(),
            ["client_email"] = ClientEmail,
            ["client_id"] = "1234567890",
            ["token_uri"] = tokenUri ?? _google.Url + "/token",
        }));
        return path;
    }

    private string Yaml(string auth) => $$"""
        storage: sqlite:lockstep.db
        systems:
          calendar:
            type: google-calendar
            calendarId: ops@group.calendar.google.com
            baseUrl: {{_google.Url}}/calendar/v3
        {{auth}}
        flows:
          workflows-to-calendar:
            on: [WorkflowDeployed, WorkflowRetired]
            to: calendar
            map: |
              (w) => ({ summary: `New Workflow: ${w.name}`, start: { date: w.startDate }, end: { date: w.endDate }, description: `ID: ${w.workflowId}` })
            retry: { maxAttempts: 20, initialDelay: 50ms, maxDelay: 100ms }
          meetings-to-calendar:
            on: [MeetingPlanned]
            to: calendar
            map: (m) => ({ summary: m.title, start: { dateTime: m.at, timeZone: 'America/New_York' }, end: { dateTime: m.until, timeZone: 'America/New_York' } })
            retry: { maxAttempts: 20, initialDelay: 50ms, maxDelay: 100ms }
        """;

    private static Events.Event Workflow(string id, long version, string name, string type = "WorkflowDeployed", RecordOp op = RecordOp.Upsert) =>
        new($"wf:{id}:{version}", type, "workflow", id, version, op,
            op == RecordOp.Delete ? null : $$"""{"workflowId":"{{id}}","name":"{{name}}","startDate":"2026-12-0{{version}}T09:00:00Z","endDate":"2026-12-1{{version}}"}""");

    [Fact]
    public async Task Service_account_events_are_inserted_updated_and_deleted_by_a_deterministic_id_and_rate_limits_back_off()
    {
        await _google.StartAsync();
        using var key = RSA.Create(2048);
        _google.TrustedKey = key;
        _google.RateLimited = 2;
        _google.TooMany = 1;
        var yaml = Yaml($"    serviceAccount: {KeyFile(key)}");
        await using var engine = await TestEngine.StartAsync(yaml, TimeProvider.System, null, new TempFolder());

        await engine.PublishAsync(Workflow("WF-1", 1, "Flood response"), Workflow("WF-2", 1, "Shelter <ops>"), Workflow("WF-3", 1, "Debris"));
        await engine.PublishAsync(new Events.Event("m:1", "MeetingPlanned", "meeting", "M-1", 1, RecordOp.Upsert,
            """{"title":"Briefing","at":"2026-12-02T09:00:00","until":"2026-12-02T10:00:00"}"""));
        await engine.WaitForStateAsync("synced");
        await engine.PublishAsync(Workflow("WF-1", 2, "Flood response (phase 2)"), Workflow("WF-3", 2, "", "WorkflowRetired", RecordOp.Delete));
        await engine.WaitForStateAsync("synced");

        var calendar = _google.Calendars["ops@group.calendar.google.com"];
        var wf1 = calendar[Id("workflow:WF-1")];
        Assert.Equal("New Workflow: Flood response (phase 2)", (string?)wf1["summary"]);
        Assert.Equal("ID: WF-1", (string?)wf1["description"]);
        Assert.Equal("2026-12-02", (string?)wf1["start"]!["date"]);
        Assert.Equal("2026-12-12", (string?)wf1["end"]!["date"]);
        Assert.Equal(1, (int?)wf1["sequence"]);
        Assert.Equal("New Workflow: Shelter <ops>", (string?)calendar[Id("workflow:WF-2")]["summary"]);
        Assert.Equal("cancelled", (string?)calendar[Id("workflow:WF-3")]["status"]);
        var meeting = calendar[Id("meeting:M-1")];
        Assert.Equal(("2026-12-02T09:00:00", "America/New_York"), ((string?)meeting["start"]!["dateTime"], (string?)meeting["start"]!["timeZone"]));
        Assert.Matches("^[a-v0-9]{5,1024}$", Id("workflow:WF-1"));
        Assert.Equal(4, _google.Inserts);
        Assert.True(_google.TokensIssued >= 1);
        Assert.Empty(_google.Rejected);
        var history = (await engine.Engine.RecordHistoryAsync("workflow", "WF-1", CancellationToken.None)).Flows["workflows-to-calendar"];
        var failures = new[] { "WF-1", "WF-2", "WF-3" }.SelectMany(k => engine.Engine.RecordHistoryAsync("workflow", k, CancellationToken.None).AsTask().Result.Flows["workflows-to-calendar"])
            .Concat((await engine.Engine.RecordHistoryAsync("meeting", "M-1", CancellationToken.None)).Flows["meetings-to-calendar"])
            .Where(a => a.Error is not null).ToList();
        Assert.Contains(failures, a => a.Error!.Contains("HTTP 403 rateLimitExceeded", StringComparison.Ordinal));
        Assert.Contains(failures, a => a.Error!.Contains("HTTP 429", StringComparison.Ordinal));
        Assert.Equal(0, (await engine.StatusAsync()).Flows["workflows-to-calendar"].Dead);
        Assert.Contains(history, a => a.Outcome == "delivered");

        // Deleting again (410 Gone) and a delete of an event that never existed (404) are done.
        await engine.PublishAsync(Workflow("WF-3", 3, "", "WorkflowRetired", RecordOp.Delete), Workflow("WF-404", 1, "", "WorkflowRetired", RecordOp.Delete));
        await engine.WaitForStateAsync("synced");
        Assert.Equal(0, (await engine.StatusAsync()).Flows["workflows-to-calendar"].Dead);
        Assert.Contains(410, _google.DeleteStatuses);
        Assert.Contains(404, _google.DeleteStatuses);
    }

    [Fact]
    public async Task A_token_signed_by_another_key_is_refused_by_the_emulator_and_the_delivery_retries_without_showing_the_key()
    {
        await _google.StartAsync();
        using var trusted = RSA.Create(2048);
        using var other = RSA.Create(2048);
        _google.TrustedKey = trusted;
        var path = KeyFile(other);
        var pem = other.ExportPkcs8PrivateKeyPem();
        await using var engine = await TestEngine.StartAsync(Yaml($"    serviceAccount: {path}"), TimeProvider.System, null, new TempFolder());

        await engine.PublishAsync(Workflow("WF-1", 1, "Flood response"));
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["workflows-to-calendar"].LastError is not null, "a failed attempt", signal: engine.Committed);

        var status = (await engine.StatusAsync()).Flows["workflows-to-calendar"];
        Assert.Contains("invalid_grant", status.LastError, StringComparison.Ordinal);
        Assert.Equal(0, status.Dead);
        Assert.Contains(_google.Rejected, r => r.Contains("signature", StringComparison.Ordinal));
        Assert.Empty(_google.Calendars);
        var body = pem.Split('\n')[1];
        Assert.DoesNotContain(engine.Logs.Lines, l => l.Contains(body, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refresh_token_is_exchanged_and_a_revoked_access_token_is_replaced()
    {
        await _google.StartAsync();
        var yaml = Yaml($$"""
                oauth2: { clientId: client-1, clientSecret: "${G_SECRET}", refreshToken: "${G_REFRESH}", tokenUrl: "{{_google.Url}}/token" }
            """);
        var env = new Dictionary<string, string> { ["G_SECRET"] = CalendarEmulator.ClientSecret, ["G_REFRESH"] = CalendarEmulator.RefreshToken };
        await using var engine = await TestEngine.StartAsync(yaml, TimeProvider.System, env, new TempFolder());

        await engine.PublishAsync(Workflow("WF-1", 1, "Flood response"));
        await engine.WaitForStateAsync("synced");
        _google.RevokeAccessTokens();
        await engine.PublishAsync(Workflow("WF-1", 2, "Flood response (phase 2)"));
        await engine.WaitForStateAsync("synced");

        Assert.Equal("New Workflow: Flood response (phase 2)", (string?)_google.Calendars["ops@group.calendar.google.com"][Id("workflow:WF-1")]["summary"]);
        Assert.Equal(2, _google.TokensIssued);
        Assert.Equal(0, (await engine.StatusAsync()).Flows["workflows-to-calendar"].Dead);
        Assert.DoesNotContain(engine.Logs.Lines, l => l.Contains(CalendarEmulator.RefreshToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_invalid_event_is_a_permanent_error_with_Googles_message()
    {
        await _google.StartAsync();
        using var key = RSA.Create(2048);
        _google.TrustedKey = key;
        await using var engine = await TestEngine.StartAsync(Yaml($"    serviceAccount: {KeyFile(key)}"), TimeProvider.System, null, new TempFolder());

        // The end before the start: the API answers 400 timeRangeEmpty.
        await engine.PublishAsync(new Events.Event("wf:x:1", "WorkflowDeployed", "workflow", "WF-X", 1, RecordOp.Upsert,
            """{"workflowId":"WF-X","name":"Bad","startDate":"2026-12-10","endDate":"2026-12-01"}"""));
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["workflows-to-calendar"].Dead == 1, "one dead letter", signal: engine.Committed);

        var dead = Assert.Single(await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None));
        Assert.Contains("HTTP 400 timeRangeEmpty: The specified time range is empty.", dead.Error, StringComparison.Ordinal);
        Assert.Equal(1, dead.Attempts);
    }

    [Fact]
    public void Config_errors_name_file_line_and_key()
    {
        var missing = Path.Combine(_folder.Path, "nope.json");
        var notKey = Path.Combine(_folder.Path, "not-a-key.json");
        File.WriteAllText(notKey, """{"type":"authorized_user","client_id":"x"}""");
        var badPem = Path.Combine(_folder.Path, "bad-pem.json");
        File.WriteAllText(badPem, """{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n","token_uri":"https://oauth2.googleapis.com/token"}""");
        var yaml = $$"""
            systems:
              calendar:
                type: google-calendar
                calendarId: primary
            AUTH
            flows:
              f: { on: [x], to: calendar, map: "(w) => w" }
            """;
        var cases = new (string Auth, string Path, string Message)[]
        {
            ("", "systems.calendar", "needs exactly one of serviceAccount"),
            ($"    serviceAccount: {missing}", "systems.calendar.serviceAccount", "cannot read"),
            ($"    serviceAccount: {notKey}", "systems.calendar.serviceAccount", "not a service account key file"),
            ($"    serviceAccount: {badPem}", "systems.calendar.serviceAccount", "private_key is not a PEM RSA private key"),
            ("    oauth2: { clientId: c, refreshToken: r }", "systems.calendar.oauth2.clientSecret", "required"),
        };
        foreach (var (auth, path, message) in cases)
        {
            var errors = Assert.Throws<ConfigException>(() => TestEngine.Load(yaml.Replace("AUTH", auth, StringComparison.Ordinal), _folder.Path)).Errors;
            Assert.Contains(errors, e => e.Path == path && e.Message.Contains(message, StringComparison.Ordinal) && e.Line > 0 && e.File.Length > 0);
            Assert.All(errors, e => Assert.DoesNotContain("AAAA", e.ToString(), StringComparison.Ordinal));
        }
    }

    /// <summary>The id the connector must use, computed here independently: RFC 4648 base32hex, lowercase, no padding.</summary>
    private static string Id(string text)
    {
        var bits = string.Concat(Encoding.UTF8.GetBytes(text).Select(b => Convert.ToString(b, 2).PadLeft(8, '0')));
        bits = bits.PadRight((bits.Length + 4) / 5 * 5, '0');
        return string.Concat(Enumerable.Range(0, bits.Length / 5).Select(i => "0123456789abcdefghijklmnopqrstuv"[Convert.ToInt32(bits.Substring(i * 5, 5), 2)]));
    }

    /// <summary>
    /// A Google Calendar API v3 emulator, after the published reference: POST /token (RFC 7523 jwt-bearer and
    /// refresh_token grants), GET/PUT/DELETE /calendar/v3/calendars/{calendarId}/events/{eventId} and POST .../events.
    /// Errors use Google's shape; a deleted event stays with status "cancelled" (get answers it, delete answers 410,
    /// insert of its id 409, update brings it back).
    /// </summary>
    private sealed partial class CalendarEmulator : IAsyncDisposable
    {
        public const string ClientSecret = "client-secret-77";
        public const string RefreshToken = "1//refresh-token-5521";
        private readonly ConcurrentDictionary<string, byte> _accessTokens = new();
        private PartnerServer? _server;
        private int _rateLimited;
        private int _tooMany;
        private int _inserts;
        private int _tokens;

        public string Url => _server!.Url;

        public RSA? TrustedKey { get; set; }

        public int RateLimited { set => _rateLimited = value; }

        public int TooMany { set => _tooMany = value; }

        public int Inserts => _inserts;

        public int TokensIssued => _tokens;

        public ConcurrentDictionary<string, ConcurrentDictionary<string, JsonObject>> Calendars { get; } = new();

        public ConcurrentQueue<string> Rejected { get; } = new();

        public ConcurrentBag<int> DeleteStatuses { get; } = [];

        public void RevokeAccessTokens() => _accessTokens.Clear();

        public async Task StartAsync()
        {
            _server = await PartnerServer.StartAsync(app =>
            {
                app.MapPost("/token", TokenAsync);
                app.MapGet("/calendar/v3/calendars/{calendarId}/events/{eventId}", (HttpContext c, string calendarId, string eventId) => EventAsync(c, calendarId, eventId));
                app.MapPut("/calendar/v3/calendars/{calendarId}/events/{eventId}", (HttpContext c, string calendarId, string eventId) => EventAsync(c, calendarId, eventId));
                app.MapDelete("/calendar/v3/calendars/{calendarId}/events/{eventId}", (HttpContext c, string calendarId, string eventId) => EventAsync(c, calendarId, eventId));
                app.MapPost("/calendar/v3/calendars/{calendarId}/events", (HttpContext c, string calendarId) => EventAsync(c, calendarId, null));
            });
        }

        private async Task TokenAsync(HttpContext context)
        {
            var form = await context.Request.ReadFormAsync();
            string? why = null;
            if (form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer") why = VerifyAssertion(form["assertion"].ToString());
            else if (form["grant_type"] == "refresh_token")
                why = form["client_id"] == "client-1" && form["client_secret"] == ClientSecret && form["refresh_token"] == RefreshToken ? null : "bad client or refresh token";
            else why = "unsupported grant_type";
            if (why is not null)
            {
                Rejected.Enqueue(why);
                context.Response.StatusCode = 400;
                await context.Response.WriteAsJsonAsync(new { error = "invalid_grant", error_description = why });
                return;
            }
            var token = "ya29." + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
            _accessTokens[token] = 0;
            Interlocked.Increment(ref _tokens);
            await context.Response.WriteAsJsonAsync(new { access_token = token, expires_in = 3599, token_type = "Bearer" });
        }

        // RFC 7523 §3 as Google applies it: RS256 over header.claims with the service account's key; iss, scope, aud, iat, exp.
        private string? VerifyAssertion(string jwt)
        {
            var parts = jwt.Split('.');
            if (parts.Length != 3) return "not a JWT";
            using var header = JsonDocument.Parse(Base64Url(parts[0]));
            if (header.RootElement.GetProperty("alg").GetString() != "RS256") return "alg is not RS256";
            if (TrustedKey is null || !TrustedKey.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
                return "invalid JWT signature";
            using var claims = JsonDocument.Parse(Base64Url(parts[1]));
            var c = claims.RootElement;
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (c.GetProperty("iss").GetString() != ClientEmail) return "iss is not the service account";
            if (!(c.GetProperty("scope").GetString() ?? "").Split(' ').Contains("https://www.googleapis.com/auth/calendar.events")) return "scope lacks calendar.events";
            if (c.GetProperty("aud").GetString() != Url + "/token") return "aud is not the token endpoint";
            var iat = c.GetProperty("iat").GetInt64();
            var exp = c.GetProperty("exp").GetInt64();
            if (iat > now + 300 || exp <= now || exp - iat > 3600) return "iat/exp out of range";
            return null;
        }

        private static byte[] Base64Url(string text)
        {
            var s = text.Replace('-', '+').Replace('_', '/');
            return Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '='));
        }

        private async Task EventAsync(HttpContext context, string calendarId, string? eventId)
        {
            var auth = context.Request.Headers.Authorization.ToString();
            if (!auth.StartsWith("Bearer ", StringComparison.Ordinal) || !_accessTokens.ContainsKey(auth[7..]))
            {
                await ErrorAsync(context, 401, "authError", "Invalid Credentials");
                return;
            }
            if (Interlocked.Decrement(ref _rateLimited) >= 0) { await ErrorAsync(context, 403, "rateLimitExceeded", "Rate Limit Exceeded"); return; }
            if (Interlocked.Decrement(ref _tooMany) >= 0) { await ErrorAsync(context, 429, "rateLimitExceeded", "Rate Limit Exceeded"); return; }
            var calendar = Calendars.GetOrAdd(calendarId, _ => new());
            var method = context.Request.Method;
            if (method == "GET")
            {
                if (!calendar.TryGetValue(eventId!, out var found)) { await ErrorAsync(context, 404, "notFound", "Not Found"); return; }
                await WriteAsync(context, found);
                return;
            }
            if (method == "DELETE")
            {
                var status = !calendar.TryGetValue(eventId!, out var existing) ? 404 : (string?)existing["status"] == "cancelled" ? 410 : 204;
                DeleteStatuses.Add(status);
                if (status == 404) { await ErrorAsync(context, 404, "notFound", "Not Found"); return; }
                if (status == 410) { await ErrorAsync(context, 410, "deleted", "Resource has been deleted"); return; }
                existing!["status"] = "cancelled";
                existing["updated"] = DateTimeOffset.UtcNow.ToString("O");
                context.Response.StatusCode = 204;
                return;
            }
            JsonObject body;
            try
            {
                body = (JsonNode.Parse(await new StreamReader(context.Request.Body).ReadToEndAsync()) as JsonObject)!;
            }
            catch (JsonException)
            {
                await ErrorAsync(context, 400, "parseError", "Parse Error");
                return;
            }
            if (Invalid(body) is { } invalid) { Rejected.Enqueue(invalid.Message); await ErrorAsync(context, 400, invalid.Reason, invalid.Message); return; }
            if (method == "POST")
            {
                var id = (string?)body["id"] ?? Convert.ToHexString(RandomNumberGenerator.GetBytes(10)).ToLowerInvariant();
                if (!EventIdPattern().IsMatch(id)) { await ErrorAsync(context, 400, "invalid", "Invalid resource id value."); return; }
                if (calendar.ContainsKey(id)) { await ErrorAsync(context, 409, "duplicate", "The requested identifier already exists."); return; }
                Interlocked.Increment(ref _inserts);
                var created = Stored(body, id, calendarId, null);
                calendar[id] = created;
                await WriteAsync(context, created);
                return;
            }
            if (!calendar.TryGetValue(eventId!, out var current)) { await ErrorAsync(context, 404, "notFound", "Not Found"); return; }
            var updated = Stored(body, eventId!, calendarId, current);
            calendar[eventId!] = updated;
            await WriteAsync(context, updated);
        }

        // The documented rules: start and end each with date or dateTime (dateTime RFC 3339, an offset or a timeZone), end after start.
        private static (string Reason, string Message)? Invalid(JsonObject body)
        {
            if (body["start"] is not JsonObject start) return ("required", "Missing start time.");
            if (body["end"] is not JsonObject end) return ("required", "Missing end time.");
            var (s, sError) = Time(start, "start");
            var (e, eError) = Time(end, "end");
            if (sError is not null || eError is not null) return ("invalid", (sError ?? eError)!);
            if (e <= s) return ("timeRangeEmpty", "The specified time range is empty.");
            return null;

            static (DateTime, string?) Time(JsonObject time, string name)
            {
                if (time["date"] is JsonValue d)
                    return DateTime.TryParseExact((string?)d, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var day)
                        ? (day, null) : (default, $"Invalid {name} time.");
                if (time["dateTime"] is JsonValue dt && DateTime.TryParse((string?)dt, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal, out var at))
                {
                    var hasOffset = ((string?)dt)!.EndsWith('Z') || OffsetPattern().IsMatch((string?)dt ?? "");
                    return hasOffset || time["timeZone"] is not null ? (at, null) : (default, $"Missing time zone definition for {name} time.");
                }
                return (default, $"Invalid {name} time.");
            }
        }

        private static JsonObject Stored(JsonObject body, string id, string calendarId, JsonObject? previous)
        {
            var stored = (JsonObject)body.DeepClone();
            var now = DateTimeOffset.UtcNow.ToString("O");
            stored["kind"] = "calendar#event";
            stored["id"] = id;
            stored["etag"] = $"\"{DateTime.UtcNow.Ticks}\"";
            stored["status"] ??= "confirmed";
            stored["htmlLink"] = $"https://www.google.com/calendar/event?eid={id}";
            stored["iCalUID"] = id + "@google.com";
            stored["created"] = previous?["created"]?.DeepClone() ?? now;
            stored["updated"] = now;
            stored["sequence"] = previous is null ? 0 : (int)previous["sequence"]! + 1;
            stored["organizer"] = new JsonObject { ["email"] = calendarId, ["self"] = true };
            return stored;
        }

        private static Task WriteAsync(HttpContext context, JsonObject value)
        {
            context.Response.ContentType = "application/json; charset=UTF-8";
            return context.Response.WriteAsync(value.ToJsonString());
        }

        private static Task ErrorAsync(HttpContext context, int code, string reason, string message)
        {
            context.Response.StatusCode = code;
            context.Response.ContentType = "application/json; charset=UTF-8";
            var domain = code is 403 or 429 ? "usageLimits" : "global";
            return context.Response.WriteAsync(new JsonObject
            {
                ["error"] = new JsonObject
                {
                    ["errors"] = new JsonArray(new JsonObject { ["domain"] = domain, ["reason"] = reason, ["message"] = message }),
                    ["code"] = code,
                    ["message"] = message,
                },
            }.ToJsonString());
        }

        [GeneratedRegex("^[a-v0-9]{5,1024}$")]
        private static partial Regex EventIdPattern();

        [GeneratedRegex(@"[+-]\d\d:\d\d$")]
        private static partial Regex OffsetPattern();

        public async ValueTask DisposeAsync()
        {
            if (_server is not null) await _server.DisposeAsync();
        }
    }
}
