using Lockstep.Configuration;
using Lockstep.Engines;
using Lockstep.Host.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Lockstep.Host.Api;

/// <summary><c>GET /api/config</c> (the file and its generation) and <c>POST /api/config/reload</c> (operator; validated first, audited).</summary>
internal static class ConfigEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/config", (HttpContext context) => context.RequestServices.GetService<ConfigReload>() is { } reload
            ? Results.Json(new { path = reload.Path, generation = reload.Generation }, ApiJson.Options)
            : NotHere()).RequireRole(ApiRole.Viewer);
        app.MapPost("/api/config/reload", async (HttpContext context, LockstepEngine engine, CancellationToken ct) =>
        {
            if (context.RequestServices.GetService<ConfigReload>() is not { } reload) return NotHere();
            ReloadPlan plan;
            try
            {
                plan = reload.Request();
            }
            catch (ConfigException e)
            {
                await engine.AuditAsync(Actor(context), "reload config", reload.Path, $"rejected: {e.Errors.Count} error(s)", ct);
                // One error is said in the detail itself (file:line: key: what), as `lockstep validate` says it.
                var detail = e.Errors.Count == 1 ? $"{e.Errors[0]}; nothing changed" : $"{e.Errors.Count} error(s) in {reload.Path}; nothing changed";
                return Problems.Of(400, "Invalid configuration", detail,
                    [.. e.Errors.Select(error => new FieldError(null, "config", error.ToString()))]);
            }
            catch (InvalidOperationException e)
            {
                return Problems.Of(409, "Reload under way", e.Message);
            }
            var status = await engine.StatusAsync(ct);
            var kept = plan.RemovedFlows.ToDictionary(f => f, f => status.Flows.TryGetValue(f, out var s) ? s.Pending + s.InFlight + s.Dead : 0, StringComparer.Ordinal);
            await engine.AuditAsync(Actor(context), "reload config", reload.Path,
                $"generation {plan.Generation}; added flows: {string.Join(", ", plan.AddedFlows)}; removed flows: {string.Join(", ", plan.RemovedFlows)}", ct);
            return Results.Json(new { plan.Generation, plan.AddedFlows, plan.RemovedFlows, keptWork = kept }, ApiJson.Options, statusCode: 202);
        }).RequireRole(ApiRole.Operator);
    }

    private static IResult NotHere() =>
        Problems.Of(501, "Not supported yet", "configuration reload is available under `lockstep run` (an embedding application restarts its host)");

    private static string Actor(HttpContext context) => LockstepClaims.Actor(context.User);
}
