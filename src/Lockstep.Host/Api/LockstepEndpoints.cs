using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Engines;
using Lockstep.Events;
using Lockstep.Host.Security;
using Lockstep.Intake;
using Lockstep.Sources;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace Lockstep.Host.Api;

/// <summary>The HTTP API: publish, status, events, dead letters, health. Every error is problem+json naming the field.</summary>
public static class LockstepEndpoints
{
    public static IEndpointRouteBuilder MapLockstepApi(this IEndpointRouteBuilder app)
    {
        var limited = app.ServiceProvider.GetService(typeof(LockstepConfig)) is LockstepConfig { Server.IntakeRequestsPerSecond: not null };
        var publish = app.MapPost("/api/events", PublishAsync).RequireRole(ApiRole.Publisher)
            .WithSummary("Publish events (one event object or an array)").WithBody<IReadOnlyList<EventInput>>("application/json")
            .Produces<PublishResponse>(202).WithProblems(400, 413, 415, 503);
        if (limited) publish.RequireRateLimiting(LockstepHost.IntakePolicy);
        app.MapGet("/api/events/{id}", async (string id, HttpContext context, LockstepEngine engine, CancellationToken ct) =>
        {
            // An id holding '/' is sent with it encoded (%2F): read from the raw path, decoded once.
            if (RawPath.Segments(context, "api", "events", null) is { } raw) id = raw[2];
            return await engine.GetEventAsync(id, ct) is { } view ? Results.Json(view, ApiJson.Options) : Problems.NotFound($"no event with id '{id}'");
        }).RequireRole(ApiRole.Viewer).WithSummary("One event and its deliveries").Produces<Journal.EventView>().WithProblems(404);
        app.MapGet("/api/status", async (LockstepEngine engine, CancellationToken ct) =>
            Results.Json(await engine.StatusAsync(ct), ApiJson.Options)).RequireRole(ApiRole.Viewer)
            .WithSummary("Status of every system and flow").Produces<Status.StatusReport>();
        app.MapGet("/api/status/{system}", async (string system, LockstepEngine engine, CancellationToken ct) =>
            (await engine.StatusAsync(ct)).Systems.TryGetValue(system, out var status)
                ? Results.Json(status, ApiJson.Options)
                : Problems.NotFound($"no system named '{system}'")).RequireRole(ApiRole.Viewer)
            .WithSummary("Status of one system").Produces<Status.TargetStatus>().WithProblems(404);
        app.MapGet("/api/dead", ListDeadAsync).RequireRole(ApiRole.Viewer)
            .WithSummary("Dead letters (?flow=, ?system=, ?limit=)").Produces<IReadOnlyList<Journal.DeadLetter>>().WithProblems(400);
        app.MapPost("/api/dead/replay", ReplayAsync).RequireRole(ApiRole.Operator)
            .WithSummary("Replay dead letters (all, a flow's, or by ids)").WithBody<ReplayRequest>("application/json", required: false).Produces<ReplayResponse>().WithProblems(400, 413);
        app.MapDelete("/api/dead/{id}", async (string id, HttpContext context, LockstepEngine engine, CancellationToken ct) =>
        {
            if (!long.TryParse(id, out var n)) return Problems.Of(400, "Invalid request", "id must be a whole number", [new FieldError(null, "id", "must be a whole number")]);
            if (!await engine.DeadLetters.DropAsync(n, ct)) return Problems.NotFound($"no dead letter with id {n}");
            await engine.AuditAsync(Actor(context), "drop", $"dead letter {n}", null, ct);
            return Results.NoContent();
        }).RequireRole(ApiRole.Operator).WithSummary("Drop a dead letter").Produces(204).WithProblems(400, 404);
        app.MapGet("/api/records/{entity}/{key}/history", async (string entity, string key, HttpContext context, LockstepEngine engine, CancellationToken ct) =>
        {
            if (RawPath.Segments(context, "api", "records", null, null, "history") is { } raw) (entity, key) = (raw[2], raw[3]);
            var history = await engine.RecordHistoryAsync(entity, key, ct);
            return history.Versions.Count == 0 ? Problems.NotFound($"no record {entity}/{key}") : Results.Json(history, ApiJson.Options);
        }).RequireRole(ApiRole.Viewer).WithSummary("A record's version history").Produces<Journal.RecordHistory>().WithProblems(404);
        app.MapGet("/api/audit", async (HttpRequest request, LockstepEngine engine, CancellationToken ct) =>
        {
            var limit = 100;
            if (request.Query.TryGetValue("limit", out var l) && (!int.TryParse(l, out limit) || limit < 1 || limit > 10_000))
                return Problems.Of(400, "Invalid request", "limit must be a whole number from 1 to 10000", [new FieldError(null, "limit", "must be 1..10000")]);
            return Results.Json(await engine.AuditLogAsync(limit, ct), ApiJson.Options);
        }).RequireRole(ApiRole.Viewer).WithSummary("The audit log: who replayed, dropped, synced, resolved (?limit=)").Produces<IReadOnlyList<Journal.AuditEntry>>().WithProblems(400);
        app.MapPost("/api/sync/{name}", async (string name, HttpContext context, LockstepEngine engine, CancellationToken ct) =>
        {
            var full = context.Request.Query["full"].FirstOrDefault() is { } f && (f is "" or "true" or "1");
            try
            {
                if (await engine.SyncAsync(name, full, ct) is not { } outcome) return Problems.NotFound($"no flow or poll source named '{name}'");
                await engine.AuditAsync(Actor(context), full ? "sync --full" : "sync", name, outcome.Outcome, ct);
                return Results.Json(outcome, ApiJson.Options);
            }
            catch (InvalidOperationException e)
            {
                return Problems.Of(409, "Cannot sync", e.Message);
            }
        }).RequireRole(ApiRole.Operator).WithSummary("Sync a flow or poll source now (?full=true reconciles everything)").Produces<SyncOutcome>().WithProblems(404, 409);
        app.MapPost("/api/backfill/{flow}", async (string flow, HttpContext context, LockstepEngine engine, CancellationToken ct) =>
        {
            if (!await engine.BackfillAsync(flow, ct)) return Problems.NotFound($"no flow named '{flow}'");
            await engine.AuditAsync(Actor(context), "backfill", flow, null, ct);
            return Results.Json(new { flow, outcome = "backfill started (progress under the flow in GET /api/status)" }, ApiJson.Options, statusCode: 202);
        }).RequireRole(ApiRole.Operator).WithSummary("Backfill a flow: send every record already in the journal to it").WithProblems(404);
        ConflictEndpoints.Map(app);
        ControlEndpoints.Map(app);
        ConfigEndpoints.Map(app);
        // Webhooks authenticate by their signature (the source's verify:), as partners' webhook senders expect.
        var webhooks = app.MapPost("/webhooks/{source}", ReceiveWebhookAsync)
            .WithSummary("Receive a partner's webhook (authenticated by its signature, see the source's verify:)")
            .WithBody<System.Text.Json.Nodes.JsonObject>("application/json").Produces<WebhookResponse>(202).Produces<WebhookResponse>(200).WithProblems(400, 401, 404, 413, 503);
        if (limited) webhooks.RequireRateLimiting(LockstepHost.IntakePolicy);
        app.MapGet("/metrics", async (HttpContext context, Metrics.LockstepMetrics metrics, CancellationToken ct) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.WriteAsync(context.Response.Body, ct);
        }).RequireRole(ApiRole.Viewer).WithSummary("Prometheus metrics").Produces<string>(200, "text/plain");
        app.MapGet("/health/live", () => Results.Json(new { status = "live" })).WithSummary("Liveness").Produces<HealthResponse>();
        app.MapGet("/health/ready", (LockstepEngine engine) =>
            !engine.Ready ? Results.Json(new { status = "starting" }, statusCode: 503)
            : !engine.JournalWritable ? Results.Json(new { status = "journal-unwritable", journal = engine.JournalStatus }, ApiJson.Options, statusCode: 503)
            : Results.Json(new { status = "ready" })).WithSummary("Readiness: 503 while starting or while the journal cannot be written").Produces<HealthResponse>().Produces<HealthResponse>(503);
        return app;
    }

    private static async Task<IResult> PublishAsync(HttpContext context, LockstepEngine engine, LockstepConfig config, CancellationToken ct)
    {
        var limit = config.Server.MaxBodyBytes;
        if (context.Request.ContentLength > limit) return TooLarge(limit);
        if (context.Request.ContentType is { } type && !IsJson(type))
            return Problems.Of(415, "Unsupported media type", $"send application/json (UTF-8), not '{type}'", [new FieldError(null, "Content-Type", "expected application/json")]);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature) sizeFeature.MaxRequestBodySize = limit;

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 64 }, ct);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413)
        {
            return TooLarge(limit);
        }
        catch (JsonException e)
        {
            return Problems.Of(400, "Malformed JSON", e.Message.Split(" Path:")[0] + (e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : ""));
        }
        using (document)
        {
            var (events, errors) = EventParser.Parse(document.RootElement, engine.IsTarget);
            if (errors.Count > 0)
            {
                var more = errors.Count - errors.Listed.Count;
                return Problems.Of(400, "Invalid events", more == 0 ? $"{errors.Count} problem(s); nothing was stored"
                    : $"{errors.Count} problem(s); nothing was stored. The first {errors.Listed.Count} are listed, {more} more are not", errors.Listed);
            }
            AppendResult result;
            try
            {
                result = await engine.PublishAsync(events, ct);
            }
            catch (JournalUnavailableException e)
            {
                return Problems.JournalUnavailable(e.RetryAfter);
            }
            return Results.Json(new PublishResponse(result.Accepted + result.Stale, result.Duplicates, result.Stale, result.Unrouted, result.UnroutedTypes), ApiJson.Options, statusCode: 202);
        }
    }

    /// <summary>application/json, or any <c>+json</c> type (application/cloudevents+json); only in UTF-8.</summary>
    private static bool IsJson(string contentType)
    {
        if (!Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media) || media.SubType.Length == 0) return false;
        if (media.Charset is { Length: > 0 } charset && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase)) return false;
        return media.Type.Equals("application", StringComparison.OrdinalIgnoreCase)
            && (media.SubType.Equals("json", StringComparison.OrdinalIgnoreCase) || media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase));
    }

    private static async Task<IResult> ReceiveWebhookAsync(string source, HttpContext context, LockstepEngine engine, LockstepConfig config, CancellationToken ct)
    {
        var limit = config.Server.MaxBodyBytes;
        if (context.Request.ContentLength > limit) return TooLarge(limit);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature) sizeFeature.MaxRequestBodySize = limit;
        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, ct);
            body = buffer.ToArray();
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413)
        {
            return TooLarge(limit);
        }
        var headers = context.Request.Headers;
        // The raw bytes are verified and journaled: never a re-serialisation.
        var receiving = engine.ReceiveWebhookAsync(source, name => headers.TryGetValue(name, out var v) ? v.ToString() : null, body, ct);
        if (receiving is null) return Problems.NotFound($"no webhook source named '{source}'");
        WebhookOutcome outcome;
        try
        {
            outcome = await receiving;
        }
        catch (JournalUnavailableException e)
        {
            return Problems.JournalUnavailable(e.RetryAfter);
        }
        return outcome.Status switch
        {
            401 => Problems.Of(401, "Invalid signature", outcome.Error ?? "the signature does not verify", [new FieldError(null, "webhook-signature", outcome.Error ?? "invalid")]),
            503 => Problems.Unavailable("Source paused", outcome.Error ?? "the source is paused", TimeSpan.FromSeconds(60)),
            400 => Problems.Of(400, "Invalid webhook", outcome.Error ?? "the body could not be used", [new FieldError(null, outcome.Field ?? "body", outcome.Error ?? "invalid")]),
            _ => Results.Json(new { accepted = !outcome.Duplicate, duplicate = outcome.Duplicate }, ApiJson.Options, statusCode: outcome.Status),
        };
    }

    /// <summary>Who acts: the API key's name, the signed-in person, the token's subject; "anonymous" when nothing is configured.</summary>
    private static string Actor(HttpContext context) => LockstepClaims.Actor(context.User);

    private static IResult TooLarge(long limit) =>
        Problems.Of(413, "Request too large", $"the body is larger than server.maxBodySize ({limit} bytes)", [new FieldError(null, "body", $"at most {limit} bytes")]);

    private static async Task<IResult> ListDeadAsync(HttpRequest request, LockstepEngine engine, CancellationToken ct)
    {
        var limit = 1000;
        if (request.Query.TryGetValue("limit", out var l) && (!int.TryParse(l, out limit) || limit < 1 || limit > 100_000))
            return Problems.Of(400, "Invalid request", "limit must be a whole number from 1 to 100000", [new FieldError(null, "limit", "must be 1..100000")]);
        if (KnownNames.Check(engine.Config, request.Query["flow"].FirstOrDefault(), request.Query["system"].FirstOrDefault()) is { } unknown) return unknown;
        var list = await engine.DeadLetters.ListAsync(request.Query["flow"].FirstOrDefault(), request.Query["system"].FirstOrDefault(), limit, ct);
        return Results.Json(list, ApiJson.Options);
    }

    private static async Task<IResult> ReplayAsync(HttpContext context, LockstepEngine engine, CancellationToken ct)
    {
        string? flow = context.Request.Query["flow"].FirstOrDefault();
        List<long>? ids = null;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            if (context.Request.ContentLength > 1024 * 1024) return TooLarge(1024 * 1024);
            try
            {
                using var document = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 8 }, ct);
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                    return Problems.Of(400, "Invalid request", "the body must be an object like {\"ids\": [1, 2]} or {\"flow\": \"name\"}");
                foreach (var property in root.EnumerateObject())
                {
                    switch (property.Name)
                    {
                        case "flow" when property.Value.ValueKind == JsonValueKind.String:
                            flow = property.Value.GetString();
                            break;
                        case "ids" when property.Value.ValueKind == JsonValueKind.Array:
                            ids = [];
                            foreach (var id in property.Value.EnumerateArray())
                            {
                                if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt64(out var n))
                                    return Problems.Of(400, "Invalid request", "ids must be whole numbers", [new FieldError(null, "ids", "must be an array of whole numbers")]);
                                ids.Add(n);
                            }
                            break;
                        default:
                            return Problems.Of(400, "Invalid request", $"unexpected field '{property.Name}'",
                                [new FieldError(null, property.Name, "expected ids (array of numbers) or flow (string)")]);
                    }
                }
            }
            catch (JsonException e)
            {
                return Problems.Of(400, "Malformed JSON", e.Message.Split(" Path:")[0]);
            }
            catch (InvalidOperationException)
            {
                // Only reading the document is tried here: this is a string or field name holding a lone surrogate.
                return Problems.InvalidUnicode();
            }
        }
        if (KnownNames.Check(engine.Config, flow, null) is { } unknown) return unknown;
        var replayed = await engine.ReplayAsync(flow, ids, ct);
        await engine.AuditAsync(Actor(context), "replay", ids is not null ? $"dead letters {string.Join(',', ids)}" : flow is not null ? $"flow {flow}" : "all dead letters",
            $"{replayed} replayed", ct);
        return Results.Json(new { replayed }, ApiJson.Options);
    }

    /// <param name="Unrouted">Accepted events that match no flow: stored, delivered nowhere (<paramref name="UnroutedTypes"/> says which types).</param>
    private sealed record PublishResponse(int Accepted, int Duplicates, int Stale, int Unrouted, IReadOnlyList<string> UnroutedTypes);

    // Shapes for the OpenAPI document: the handlers read and write these fields by hand.
    private sealed record EventInput(string? Id, string Type, string Entity, string Key, long? Version, string? Op, System.Text.Json.Nodes.JsonObject? Data);

    private sealed record ReplayRequest(IReadOnlyList<long>? Ids, string? Flow);

    private sealed record ReplayResponse(int Replayed);

    private sealed record WebhookResponse(bool Accepted, bool Duplicate);

    private sealed record HealthResponse(string Status, string? Journal);
}
