using Lockstep.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Lockstep.Host.Dashboard;

/// <summary>
/// The dashboard at <c>/</c>: one static page (embedded, no build step) that follows <c>/api/stream</c> (server-sent
/// events) and falls back to polling the same API as the CLI. With API
/// keys configured, <c>/login</c> takes a key and sets it as an HttpOnly, SameSite=Strict cookie that the key gate accepts.
/// </summary>
internal static class DashboardEndpoints
{
    public const string Cookie = "lockstep_key";

    public static void MapDashboard(this IEndpointRouteBuilder app, LockstepConfig config)
    {
        app.MapGet("/", (HttpContext context) =>
        {
            if (config.ApiKeys.Count > 0 && !context.Request.Cookies.ContainsKey(Cookie)) return Results.Redirect("/login");
            return Page("index.html");
        });
        app.MapGet("/login", () => Page("login.html"));
        app.MapGet("/api/stream", (StatusFeed feed, CancellationToken ct) => Results.ServerSentEvents(feed.StreamAsync(ct)))
            .WithMetadata(new Security.RequiresRole(ApiRole.Viewer));
        app.MapPost("/login", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            var key = form["key"].ToString();
            if (key.Length == 0) return Results.Redirect("/login");
            context.Response.Cookies.Append(Cookie, key, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = context.Request.IsHttps,
                Path = "/",
                MaxAge = TimeSpan.FromHours(12),
            });
            return Results.Redirect("/");
        }).DisableAntiforgery();
    }

    private static IResult Page(string name)
    {
        using var stream = typeof(DashboardEndpoints).Assembly.GetManifestResourceStream($"Lockstep.Dashboard.{name}")
            ?? throw new InvalidOperationException($"the dashboard page {name} is not embedded");
        using var reader = new StreamReader(stream);
        return Results.Content(reader.ReadToEnd(), "text/html; charset=utf-8");
    }
}
