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
        var publisher = new RequiresRole(ApiRole.Publisher);
        var viewer = new RequiresRole(ApiRole.Viewer);
        var @operator = new RequiresRole(ApiRole.Operator);
        var publish = app.MapPost("/api/events", PublishAsync).WithMetadata(publisher);
        if (limited) publish.RequireRateLimiting(LockstepHost.IntakePolicy);
        app.MapGet("/api/events/{id}", async (string id, HttpContext context, LockstepEngine engine, CancellationToken ct) =>
        {
            // An id holding '/' is sent with it encoded (%2F): read from the raw path, decoded once.
            if (RawPath.Segments(context, "api", "events", null) is { } raw) id = raw[2];
            return await engine.GetEventAsync(id, ct) is { } view ? Results.Json(view, ApiJson.Options) : Problems.NotFound($"no event with id '{id}'");
        }).WithMetadata(viewer);
        app.MapGet("/api/status", async (LockstepEngine engine, CancellationToken ct) =>
            Results.Json(await engine.StatusAsync(ct), ApiJson.Options)).WithMetadata(viewer);
        app.MapGet("/api/status/{system}", async (string system, LockstepEngine engine, CancellationToken ct) =>
            (await engine.StatusAsync(ct)).Systems.TryGetValue(system, out var status)
                ? Results.Json(status, ApiJson.Options)
                : Problems.NotFound($"no system named '{system}'")).WithMetadata(viewer);
        app.MapGet("/api/dead", ListDeadAsync).WithMetadata(viewer);
        app.MapPost("/api/dead/replay", ReplayAsync).WithMetadata(@operator);
        app.MapDelete("/api/dead/{id}", async (string id, HttpContext context, LockstepEngine engine, CancellationToken ct) =>
        {
            if (!long.TryParse(id, out var n)) return Problems.Of(400, "Invalid request", "id must be a whole number", [new FieldError(null, "id", "must be a whole number")]);
            if (!await engine.DeadLetters.DropAsync(n, ct)) return Problems.NotFound($"no dead letter with id {n}");
            await engine.AuditAsync(Actor(context), "drop", $"dead letter {n}", null, ct);
            return Results.NoContent();
        }).WithMetadata(@operator);
        app.MapGet("/api/records/{entity}/{key}/history", async (string entity, string key, HttpContext context, LockstepEngine engine, CancellationToken ct) =>
        {
            if (RawPath.Segments(context, "api", "records", null, null, "history") is { } raw) (entity, key) = (raw[2], raw[3]);
            var history = await engine.RecordHistoryAsync(entity, key, ct);
            return history.Versions.Count == 0 ? Problems.NotFound($"no record {entity}/{key}") : Results.Json(history, ApiJson.Options);
        }).WithMetadata(viewer);
        app.MapGet("/api/audit", async (HttpRequest request, LockstepEngine engine, CancellationToken ct) =>
        {
            var limit = 100;
            if (request.Query.TryGetValue("limit", out var l) && (!int.TryParse(l, out limit) || limit < 1 || limit > 10_000))
                return Problems.Of(400, "Invalid request", "limit must be a whole number from 1 to 10000", [new FieldError(null, "limit", "must be 1..10000")]);
            return Results.Json(await engine.AuditLogAsync(limit, ct), ApiJson.Options);
        }).WithMetadata(viewer);
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
        }).WithMetadata(@operator);
        app.MapPost("/api/backfill/{flow}", async (string flow, HttpContext context, LockstepEngine engine, CancellationToken ct) =>
        {
            if (!await engine.BackfillAsync(flow, ct)) return Problems.NotFound($"no flow named '{flow}'");
            await engine.AuditAsync(Actor(context), "backfill", flow, null, ct);
            return Results.Json(new { flow, outcome = "backfill started (progress under the flow in GET /api/status)" }, ApiJson.Options, statusCode: 202);
        }).WithMetadata(@operator);
        ConflictEndpoints.Map(app, viewer, @operator);
        // Webhooks authenticate by their signature (the source's verify:), as partners' webhook senders expect.
        var webhooks = app.MapPost("/webhooks/{source}", ReceiveWebhookAsync);
        if (limited) webhooks.RequireRateLimiting(LockstepHost.IntakePolicy);
        app.MapGet("/metrics", async (HttpContext context, Metrics.LockstepMetrics metrics, CancellationToken ct) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.WriteAsync(context.Response.Body, ct);
        }).WithMetadata(viewer);
        app.MapGet("/health/live", () => Results.Json(new { status = "live" }));
        app.MapGet("/health/ready", (LockstepEngine engine) =>
            !engine.Ready ? Results.Json(new { status = "starting" }, statusCode: 503)
            : !engine.JournalWritable ? Results.Json(new { status = "journal-unwritable", journal = engine.JournalStatus }, ApiJson.Options, statusCode: 503)
            : Results.Json(new { status = "ready" }));
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
            return Results.Json(new PublishResponse(result.Accepted + result.Stale, result.Duplicates, result.Stale), ApiJson.Options, statusCode: 202);
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
            400 => Problems.Of(400, "Invalid webhook", outcome.Error ?? "the body could not be used", [new FieldError(null, outcome.Field ?? "body", outcome.Error ?? "invalid")]),
            _ => Results.Json(new { accepted = !outcome.Duplicate, duplicate = outcome.Duplicate }, ApiJson.Options, statusCode: outcome.Status),
        };
    }

    /// <summary>Who acts: the API key's name, or "anonymous" when no keys are configured.</summary>
    private static string Actor(HttpContext context) =>
        context.Items.TryGetValue(typeof(ApiKey), out var key) && key is ApiKey k ? k.Name : "anonymous";

    private static IResult TooLarge(long limit) =>
        Problems.Of(413, "Request too large", $"the body is larger than server.maxBodySize ({limit} bytes)", [new FieldError(null, "body", $"at most {limit} bytes")]);

    private static async Task<IResult> ListDeadAsync(HttpRequest request, LockstepEngine engine, CancellationToken ct)
    {
        var limit = 1000;
        if (request.Query.TryGetValue("limit", out var l) && (!int.TryParse(l, out limit) || limit < 1 || limit > 100_000))
            return Problems.Of(400, "Invalid request", "limit must be a whole number from 1 to 100000", [new FieldError(null, "limit", "must be 1..100000")]);
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
        var replayed = await engine.ReplayAsync(flow, ids, ct);
        await engine.AuditAsync(Actor(context), "replay", ids is not null ? $"dead letters {string.Join(',', ids)}" : flow is not null ? $"flow {flow}" : "all dead letters",
            $"{replayed} replayed", ct);
        return Results.Json(new { replayed }, ApiJson.Options);
    }

    private sealed record PublishResponse(int Accepted, int Duplicates, int Stale);
}
