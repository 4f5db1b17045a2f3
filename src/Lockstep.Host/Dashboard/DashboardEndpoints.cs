using Lockstep.Configuration;
using Lockstep.Host.Api;
using Lockstep.Host.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Lockstep.Host.Dashboard;

/// <summary>
/// The dashboard at <c>/</c>: one static page (embedded, no build step) that follows <c>/api/stream</c> (server-sent
/// events) and falls back to polling the same API as the CLI. With API
/// keys configured, <c>/login</c> takes a form with a viewer or operator key, checks it like the key gate does, and
/// only then sets it as an HttpOnly, SameSite=Strict cookie that the gate accepts.
/// </summary>
internal static class DashboardEndpoints
{
    public const string Cookie = "lockstep_key";

    private static readonly RequiresRole Viewer = new(ApiRole.Viewer);

    public static void MapDashboard(this IEndpointRouteBuilder app, LockstepConfig config, ApiKeyGate gate)
    {
        app.MapGet("/", (HttpContext context) =>
        {
            if (config.Secured && !context.Request.Cookies.ContainsKey(Cookie) && !context.Request.Cookies.ContainsKey(LockstepAuthentication.SessionCookie))
                return Results.Redirect("/login");
            return Page("index.html");
        }).WithSummary("The dashboard (HTML; redirects to /login when not signed in)").Produces<string>(200, "text/html").Produces(302);
        app.MapGet("/login", (HttpRequest request) =>
            request.Query["error"].FirstOrDefault() switch
            {
                // Only these fixed messages: the query string is no way to put words on this page.
                "no-role" => LoginPage(config, 403, $"Your account has no Lockstep role: its '{config.Oidc?.Roles.Claim}' claim names none of {string.Join(", ", config.Oidc?.Roles.Values.Keys ?? [])}. Ask your administrator for one of these groups."),
                "failed" => LoginPage(config, 401, "Sign-in through the identity provider failed; try again."),
                _ => LoginPage(config, 200, null),
            })
            .WithSummary("The dashboard's sign-in page (HTML)").Produces<string>(200, "text/html");
        app.MapGet("/api/stream", (StatusFeed feed, CancellationToken ct) => Results.ServerSentEvents(feed.StreamAsync(ct)))
            .RequireRole(ApiRole.Viewer).WithSummary("Live status as server-sent events").Produces<string>(200, "text/event-stream");
        // Who is signed in, for the dashboard's "signed in as NAME (role)".
        app.MapGet("/api/me", (HttpContext context) =>
        {
            var user = context.User;
            var role = LockstepClaims.Best(user);
            return Results.Json(new Me(config.Secured ? LockstepClaims.Actor(user) : "anonymous", config.Secured ? role is { } r ? LockstepClaims.Text(r) : null : "operator",
                config.Secured ? LockstepClaims.Via(user) : null), ApiJson.Options);
        }).RequireRole(ApiRole.Viewer).WithSummary("Who is signed in (name, role, how)").Produces<Me>();
        if (config.Oidc is not null)
        {
            // Starts the authorization code flow (with PKCE) at the identity provider; it comes back to /signin-oidc.
            app.MapGet("/login/oidc", () => Results.Challenge(new AuthenticationProperties { RedirectUri = "/" }, [LockstepAuthentication.OidcScheme]))
                .WithSummary("Sign in through the identity provider (redirects there: authorization code flow with PKCE)").Produces(302);
        }
        app.MapPost("/logout", async (HttpContext context) =>
        {
            context.Response.Cookies.Delete(Cookie, new CookieOptions { Path = "/" });
            if (config.Oidc is not null && context.Request.Cookies.ContainsKey(LockstepAuthentication.SessionCookie))
            {
                var session = await context.AuthenticateAsync(LockstepAuthentication.SessionScheme);
                await context.SignOutAsync(LockstepAuthentication.SessionScheme);
                // Ends the session at the identity provider too, which sends the browser back to /login.
                if (session.Succeeded)
                    return Results.SignOut(new AuthenticationProperties { RedirectUri = "/login" }, [LockstepAuthentication.OidcScheme]);
            }
            return Results.Redirect("/login");
        }).DisableAntiforgery().WithSummary("Sign out (and end the identity provider's session)").Produces(302);
        app.MapPost("/login", async (HttpContext context, CancellationToken ct) =>
        {
            if (!context.Request.HasFormContentType)
            {
                return Problems.Of(415, "Unsupported media type",
                    "send the key as the form field 'key' (application/x-www-form-urlencoded), as the login page does; API clients send 'Authorization: Bearer KEY' instead",
                    [new FieldError(null, "Content-Type", "expected application/x-www-form-urlencoded or multipart/form-data")]);
            }
            IFormCollection form;
            try
            {
                form = await context.Request.ReadFormAsync(ct);
            }
            catch (InvalidDataException)
            {
                return Problems.Of(400, "Invalid form", "the form could not be read (too large or malformed)", [new FieldError(null, "key", "expected one form field 'key'")]);
            }
            var key = form["key"].ToString();
            if (key.Length == 0) return LoginPage(config, 400, "Enter an API key.");
            // Without keys the dashboard is open: there is nothing to sign in with, and nothing is kept.
            if (config.ApiKeys.Count == 0) return Results.Redirect("/");
            // Checked like a key on the API, failures counted for the same limit: the form is no way to guess keys faster.
            if (gate.Throttled(context)) return LoginPage(config, 429, "Too many wrong keys from this address: wait a minute and try again.");
            if (gate.Authenticate(context, key) is not { } match) return LoginPage(config, 401, "That key is not valid.");
            if (!Viewer.AllowedFor(match.Role))
                return LoginPage(config, 403, $"The key '{match.Name}' is a {match.Role.ToString().ToLowerInvariant()} key; the dashboard needs a viewer or operator key.");
            context.Response.Cookies.Append(Cookie, key, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = context.Request.IsHttps,
                Path = "/",
                MaxAge = TimeSpan.FromHours(12),
            });
            return Results.Redirect("/");
        }).DisableAntiforgery().WithSummary("Sign in with an API key (form field 'key'); sets an HttpOnly cookie").WithBody<LoginForm>("application/x-www-form-urlencoded")
            .Produces(302).Produces<string>(401, "text/html").Produces<string>(403, "text/html").Produces<string>(429, "text/html").WithProblems(400, 415);
    }

    /// <summary>The login page again, with why the key was not taken (and no cookie).</summary>
    private static IResult LoginPage(LockstepConfig config, int status, string? message)
    {
        var page = Html("login.html");
        if (message is not null) page = page.Replace("<!--error-->", $"<p role=\"alert\">{System.Net.WebUtility.HtmlEncode(message)}</p>", StringComparison.Ordinal);
        if (config.Oidc is not null)
            page = page.Replace("<!--oidc-->", "<p><a id=\"oidc\" class=\"button\" href=\"/login/oidc\">Sign in with your organisation</a></p><p class=\"or\">or with an API key:</p>", StringComparison.Ordinal);
        return Results.Content(page, "text/html; charset=utf-8", statusCode: status);
    }

    private sealed record Me(string Name, string? Role, string? Via);

    private sealed record LoginForm(string Key);

    private static IResult Page(string name) => Results.Content(Html(name), "text/html; charset=utf-8");

    private static string Html(string name)
    {
        using var stream = typeof(DashboardEndpoints).Assembly.GetManifestResourceStream($"Lockstep.Dashboard.{name}")
            ?? throw new InvalidOperationException($"the dashboard page {name} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
