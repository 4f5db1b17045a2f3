using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Conflicts;
using Lockstep.Engines;
using Lockstep.Host.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Lockstep.Host.Api;

/// <summary>
/// Two-way conflicts: <c>GET /api/conflicts</c> (open ones; <c>?all=true</c> for the history, <c>?pair=</c>),
/// <c>GET /api/conflicts/{id}</c>, and <c>POST /api/conflicts/{id}/resolve</c> with <c>{"take": "source"|"target"}</c>
/// or <c>{"body": {...}}</c> (operator role; audited with who resolved it).
/// </summary>
internal static class ConflictEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/conflicts", async (HttpRequest request, LockstepEngine engine, CancellationToken ct) =>
        {
            var limit = 1000;
            if (request.Query.TryGetValue("limit", out var l) && (!int.TryParse(l, out limit) || limit < 1 || limit > 100_000))
                return Problems.Of(400, "Invalid request", "limit must be a whole number from 1 to 100000", [new FieldError(null, "limit", "must be 1..100000")]);
            if (KnownNames.Check(engine.Config, null, null, request.Query["pair"].FirstOrDefault()) is { } unknown) return unknown;
            var all = request.Query["all"].FirstOrDefault() is "true" or "1" or "";
            return Results.Json(await engine.ConflictsAsync(request.Query["pair"].FirstOrDefault(), !all, limit, ct), ApiJson.Options);
        }).RequireRole(ApiRole.Viewer).WithSummary("Two-way conflicts (open ones; ?all=true, ?pair=, ?limit=)").Produces<IReadOnlyList<ConflictView>>().WithProblems(400);
        app.MapGet("/api/conflicts/{id}", async (string id, LockstepEngine engine, CancellationToken ct) =>
        {
            if (!long.TryParse(id, out var n)) return Problems.Of(400, "Invalid request", "id must be a whole number", [new FieldError(null, "id", "must be a whole number")]);
            return await engine.GetConflictAsync(n, ct) is { } view ? Results.Json(view, ApiJson.Options) : Problems.NotFound($"no conflict with id {n}");
        }).RequireRole(ApiRole.Viewer).WithSummary("One conflict").Produces<ConflictView>().WithProblems(400, 404);
        app.MapPost("/api/conflicts/{id}/resolve", ResolveAsync).RequireRole(ApiRole.Operator)
            .WithSummary("Resolve a conflict: take source or target, or give the body").WithBody<ResolveRequest>("application/json").Produces<ConflictView>().WithProblems(400, 404, 409, 413);
    }

    private static async Task<IResult> ResolveAsync(string id, HttpContext context, LockstepEngine engine, CancellationToken ct)
    {
        if (!long.TryParse(id, out var n)) return Problems.Of(400, "Invalid request", "id must be a whole number", [new FieldError(null, "id", "must be a whole number")]);
        if (context.Request.ContentLength > 4 * 1024 * 1024) return Problems.Of(413, "Request too large", "at most 4 MB");
        ConflictResolution resolution;
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 64 }, ct);
            var root = document.RootElement;
            string? take = null, body = null;
            if (root.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in root.EnumerateObject())
                {
                    switch (property.Name)
                    {
                        case "take" when property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() is "source" or "target":
                            take = property.Value.GetString();
                            break;
                        case "body" when property.Value.ValueKind == JsonValueKind.Object:
                            body = property.Value.GetRawText();
                            break;
                        default:
                            return Invalid(property.Name);
                    }
                }
            }
            if ((take is null) == (body is null)) return Invalid("take");
            resolution = new ConflictResolution(take, body);
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
        try
        {
            var resolved = await engine.ResolveConflictAsync(n, resolution, Actor(context), ct);
            if (resolved is not null) return Results.Json(resolved, ApiJson.Options);
            return await engine.GetConflictAsync(n, ct) is { } settled
                ? Problems.Of(409, "Already resolved", $"conflict {n} was settled ({settled.Outcome}) by {settled.ResolvedBy}")
                : Problems.NotFound($"no conflict with id {n}");
        }
        catch (InvalidOperationException e)
        {
            return Problems.Of(409, "Cannot resolve", e.Message);
        }
    }

    private sealed record ResolveRequest(string? Take, System.Text.Json.Nodes.JsonObject? Body);

    private static IResult Invalid(string field) =>
        Problems.Of(400, "Invalid request", "send {\"take\": \"source\"} or {\"take\": \"target\"} or {\"body\": {...}} (exactly one)",
            [new FieldError(null, field, "expected take (source|target) or body (an object)")]);

    private static string Actor(HttpContext context) => LockstepClaims.Actor(context.User);
}
