using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Control;
using Lockstep.Engines;
using Lockstep.Host.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Lockstep.Host.Api;

/// <summary>
/// Operators' controls without a restart (operator role, each audited with who acted): <c>POST /api/{flows|systems|sources}/{name}/pause</c>
/// (optional body <c>{"reason": "..."}</c>) and <c>/resume</c>, <c>GET /api/pauses</c>, <c>POST /api/{flows|systems}/{name}/retry</c>,
/// <c>POST /api/systems/{name}/circuit/reset</c>, <c>POST /api/systems/{name}/check</c>, and <c>DELETE /api/flows/{name}/work</c>
/// for the work a removed flow left behind.
/// </summary>
internal static class ControlEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/api/{kind}/{name}/pause", PauseAsync).RequireRole(ApiRole.Operator);
        app.MapPost("/api/{kind}/{name}/resume", async (string kind, string name, HttpContext context, LockstepEngine engine, CancellationToken ct) =>
        {
            if (Kind(kind) is not { } k) return UnknownKind(kind);
            return await engine.ResumeAsync(k, name, Actor(context), ct) is { } outcome ? Results.Json(outcome, ApiJson.Options) : NoSuch(k, name);
        }).RequireRole(ApiRole.Operator);
        app.MapGet("/api/pauses", (LockstepEngine engine) => Results.Json(engine.Pauses, ApiJson.Options)).RequireRole(ApiRole.Viewer);
        app.MapPost("/api/{kind}/{name}/retry", async (string kind, string name, HttpContext context, LockstepEngine engine, CancellationToken ct) =>
        {
            if (Kind(kind) is not { } k || k == PauseKind.Source)
                return Problems.Of(404, "Not found", $"retry is for flows and systems, not '{kind}'", [new FieldError(null, "kind", "expected flows or systems")]);
            var outcome = await engine.RetryNowAsync(name, k == PauseKind.Flow ? "flow" : "system", ct);
            if (outcome is null) return NoSuch(k, name);
            await engine.AuditAsync(Actor(context), "retry now", $"{outcome.Kind} {name}", outcome.Outcome, ct);
            return Results.Json(outcome, ApiJson.Options);
        }).RequireRole(ApiRole.Operator);
        app.MapPost("/api/systems/{name}/circuit/reset", async (string name, HttpContext context, LockstepEngine engine, CancellationToken ct) =>
            await engine.ResetCircuitAsync(name, Actor(context), ct) is { } outcome ? Results.Json(outcome, ApiJson.Options) : NoSuch(PauseKind.System, name))
            .RequireRole(ApiRole.Operator);
        app.MapPost("/api/systems/{name}/check", async (string name, HttpContext context, LockstepEngine engine, CancellationToken ct) =>
        {
            Connectors.ConnectionCheck? check;
            try
            {
                check = await engine.CheckAsync(name, ct);
            }
            catch (NotSupportedException e)
            {
                return Problems.Of(501, "Not supported yet", e.Message);
            }
            if (check is null) return NoSuch(PauseKind.System, name);
            await engine.AuditAsync(Actor(context), "check", $"system {name}", check.Ok ? "ok" : "failed", ct);
            return Results.Json(check, ApiJson.Options);
        }).RequireRole(ApiRole.Operator);
        app.MapDelete("/api/flows/{name}/work", async (string name, HttpContext context, LockstepEngine engine, CancellationToken ct) =>
        {
            try
            {
                return Results.Json(new { flow = name, dropped = await engine.DropRemovedFlowAsync(name, Actor(context), ct) }, ApiJson.Options);
            }
            catch (InvalidOperationException e)
            {
                return Problems.Of(409, "Flow is configured", e.Message);
            }
        }).RequireRole(ApiRole.Operator);
    }

    private static async Task<IResult> PauseAsync(string kind, string name, HttpContext context, LockstepEngine engine, CancellationToken ct)
    {
        if (Kind(kind) is not { } k) return UnknownKind(kind);
        string? reason = context.Request.Query["reason"].FirstOrDefault();
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            if (context.Request.ContentLength > 64 * 1024) return Problems.Of(413, "Request too large", "at most 64 KB");
            try
            {
                using var document = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 4 }, ct);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                    return Problems.Of(400, "Invalid request", "the body must be an object like {\"reason\": \"partner maintenance\"}");
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    if (property.Name != "reason" || property.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                        return Problems.Of(400, "Invalid request", $"unexpected field '{property.Name}'", [new FieldError(null, property.Name, "expected reason (string)")]);
                    reason = property.Value.GetString();
                }
            }
            catch (JsonException e)
            {
                return Problems.Of(400, "Malformed JSON", e.Message.Split(" Path:")[0]);
            }
            catch (InvalidOperationException)
            {
                return Problems.InvalidUnicode();
            }
        }
        try
        {
            return await engine.PauseAsync(k, name, Actor(context), reason, ct) is { } outcome ? Results.Json(outcome, ApiJson.Options) : NoSuch(k, name);
        }
        catch (InvalidOperationException e)
        {
            return Problems.Of(409, "Cannot pause", e.Message);
        }
    }

    private static PauseKind? Kind(string segment) => segment switch
    {
        "flows" => PauseKind.Flow,
        "systems" => PauseKind.System,
        "sources" => PauseKind.Source,
        _ => null,
    };

    private static IResult UnknownKind(string kind) =>
        Problems.Of(404, "Not found", $"'{kind}' cannot be paused: use flows, systems or sources", [new FieldError(null, "kind", "expected flows, systems or sources")]);

    private static IResult NoSuch(PauseKind kind, string name) => Problems.NotFound($"no {kind.ToString().ToLowerInvariant()} named '{name}'");

    /// <summary>Who acts: the API key's name, or "anonymous" when no keys are configured.</summary>
    private static string Actor(HttpContext context) => LockstepClaims.Actor(context.User);
}
