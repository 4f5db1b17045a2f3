using System.Security.Claims;
using System.Text.Encodings.Web;
using Lockstep.Configuration;
using Lockstep.Host.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Lockstep.Host.Security;

/// <summary>The authorization policies, one per role: attach them with <c>.RequireAuthorization(LockstepPolicies.Operator)</c> or <c>.RequireRole(ApiRole.Operator)</c>.</summary>
public static class LockstepPolicies
{
    public const string Publisher = "publisher";
    public const string Viewer = "viewer";
    public const string Operator = "operator";

    public static string For(ApiRole role) => role switch
    {
        ApiRole.Publisher => Publisher,
        ApiRole.Viewer => Viewer,
        _ => Operator,
    };

    /// <summary>The endpoint needs <paramref name="role"/> (operators may do anything): its policy, plus the metadata the OpenAPI document reads.</summary>
    public static TBuilder RequireRole<TBuilder>(this TBuilder builder, ApiRole role) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequiresRole(role)).RequireAuthorization(For(role)).WithProblems(401, 403, 429);
}

/// <summary>The claims Lockstep gives every signed-in principal, whatever the scheme.</summary>
internal static class LockstepClaims
{
    public const string Role = "lockstep:role";
    public const string ViaClaim = "lockstep:via";
    public const string Name = "lockstep:name";

    /// <summary>Who acts, for the audit log: the key's name, the person's name, or the token's subject.</summary>
    public static string Actor(ClaimsPrincipal user) => user.FindFirst(Name)?.Value ?? "anonymous";

    public static IEnumerable<ApiRole> Roles(ClaimsPrincipal user) =>
        user.FindAll(Role).Select(c => ApiRoles.Parse(c.Value)).OfType<ApiRole>();

    /// <summary>The strongest role the principal holds (operator &gt; viewer &gt; publisher), or null.</summary>
    public static ApiRole? Best(ClaimsPrincipal user) => Roles(user).Select(r => (ApiRole?)r).OrderByDescending(r => r == ApiRole.Operator ? 3 : r == ApiRole.Viewer ? 2 : 1).FirstOrDefault();

    /// <summary>How the principal signed in: "api key", "bearer token" or "sign-in".</summary>
    public static string? Via(ClaimsPrincipal user) => user.FindFirst(ViaClaim)?.Value;

    public static string Text(ApiRole role) => role.ToString().ToLowerInvariant();

    /// <summary>Adds the Lockstep claims (name, via, one role claim per role) to <paramref name="identity"/>.</summary>
    public static void Add(ClaimsIdentity identity, string name, string via, IEnumerable<ApiRole> roles)
    {
        // Read the roles (which may come from this identity's own claims) before adding to it.
        var granted = roles.Distinct().ToList();
        identity.AddClaim(new Claim(Name, name));
        identity.AddClaim(new Claim(ViaClaim, via));
        foreach (var role in granted) identity.AddClaim(new Claim(Role, Text(role)));
    }
}

/// <summary>A role policy's requirement: the principal holds the role, or operator (who may do anything).</summary>
internal sealed record RoleRequirement(ApiRole Role) : IAuthorizationRequirement;

/// <summary>Decides every <see cref="RoleRequirement"/> from the principal's Lockstep role claims.</summary>
internal sealed class RoleHandler : AuthorizationHandler<RoleRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, RoleRequirement requirement)
    {
        var required = new RequiresRole(requirement.Role);
        if (LockstepClaims.Roles(context.User).Any(required.AllowedFor)) context.Succeed(requirement);
        return Task.CompletedTask;
    }
}

/// <summary>
/// ASP.NET Core authentication for Lockstep: API keys (<see cref="ApiKeyHandler"/>), JWT bearer tokens from the
/// organisation's identity provider (<c>security.jwt</c>) and dashboard sign-in with OpenID Connect
/// (<c>security.oidc</c>), all behind one policy scheme that picks by what the request carries. Every refusal is
/// problem+json that says why (missing, not valid, expired, wrong audience, no role).
/// </summary>
internal static class LockstepAuthentication
{
    public const string Scheme = "lockstep";
    public const string ApiKeyScheme = "apikey";
    public const string JwtScheme = "jwt";
    public const string SessionScheme = "session";
    public const string OidcScheme = "oidc";
    public const string SessionCookie = "lockstep_session";

    public static void AddLockstepAuthentication(this IServiceCollection services, LockstepConfig config)
    {
        services.AddSingleton<IAuthorizationHandler, RoleHandler>();
        services.AddSingleton(sp => new ApiKeyGate(config.ApiKeys, sp.GetRequiredService<TimeProvider>()));
        services.AddAuthorization(o =>
        {
            foreach (var role in new[] { ApiRole.Publisher, ApiRole.Viewer, ApiRole.Operator })
            {
                o.AddPolicy(LockstepPolicies.For(role), policy =>
                {
                    // Nothing configured: the API is open (the host warns at start), as before API keys existed.
                    if (!config.Secured) policy.RequireAssertion(_ => true);
                    else policy.AddAuthenticationSchemes(Scheme).AddRequirements(new RoleRequirement(role));
                });
            }
        });
        var authentication = services.AddAuthentication();
        if (!config.Secured) return;
        authentication.AddPolicyScheme(Scheme, "Lockstep", o => o.ForwardDefaultSelector = context => Select(context, config));
        authentication.AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyScheme, null);
        if (config.Jwt is { } jwt) authentication.AddJwtBearer(JwtScheme, o => ConfigureJwt(o, jwt));
        if (config.Oidc is { } oidc)
        {
            authentication.AddCookie(SessionScheme, o =>
            {
                o.Cookie.Name = SessionCookie;
                o.Cookie.HttpOnly = true;
                // Secure whenever the listener is https (server.tls); Lax so the provider's redirect back can set it.
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                o.Events.OnRedirectToLogin = c => Refuse(c.HttpContext, 401, "Unauthorized", "the dashboard session has ended; sign in again", "session", "missing or expired");
                o.Events.OnRedirectToAccessDenied = c => Forbidden(c.HttpContext);
            });
            authentication.AddOpenIdConnect(OidcScheme, o => ConfigureOidc(o, oidc));
        }
    }

    /// <summary>A JWT bearer token goes to the JWT handler, a dashboard session cookie to the session, anything else to API keys.</summary>
    private static string Select(HttpContext context, LockstepConfig config)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        var bearer = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : null;
        if (config.Jwt is not null && bearer is not null && LooksLikeJwt(bearer)) return JwtScheme;
        if (config.Oidc is not null && bearer is null && !context.Request.Headers.ContainsKey("X-Api-Key") && context.Request.Cookies.ContainsKey(SessionCookie))
            return SessionScheme;
        if (config.ApiKeys.Count > 0) return ApiKeyScheme;
        return config.Jwt is not null ? JwtScheme : SessionScheme;
    }

    private static bool LooksLikeJwt(string token) => token.Count(c => c == '.') == 2 && new JsonWebTokenHandler().CanReadToken(token);

    private static void ConfigureJwt(JwtBearerOptions o, JwtOptions jwt)
    {
        o.MapInboundClaims = false;
        o.IncludeErrorDetails = false;
        o.TokenValidationParameters.ValidAudience = jwt.Audience;
        o.TokenValidationParameters.NameClaimType = "sub";
        o.TokenValidationParameters.RoleClaimType = LockstepClaims.Role;
        if (jwt.Authority is { } authority)
        {
            o.Authority = authority.ToString();
            o.RequireHttpsMetadata = authority.Scheme == Uri.UriSchemeHttps;
        }
        else
        {
            o.TokenValidationParameters.ValidIssuer = jwt.Issuer;
            o.TokenValidationParameters.IssuerSigningKeys = SigningKeys.Load(jwt.SigningKeyFiles);
        }
        o.Events = new JwtBearerEvents
        {
            OnTokenValidated = context =>
            {
                if (context.Principal?.Identity is not ClaimsIdentity identity) return Task.CompletedTask;
                var subject = identity.FindFirst("sub")?.Value ?? identity.FindFirst("client_id")?.Value ?? "token";
                LockstepClaims.Add(identity, subject, "bearer token", jwt.Roles.Map(identity.FindAll(jwt.Roles.Claim).Select(c => c.Value)));
                return Task.CompletedTask;
            },
            OnChallenge = async context =>
            {
                context.HandleResponse();
                var (detail, reason) = context.AuthenticateFailure switch
                {
                    null => ("send a bearer token from the identity provider as 'Authorization: Bearer TOKEN'" + (context.HttpContext.RequestServices.GetRequiredService<LockstepConfig>().ApiKeys.Count > 0 ? " (or an API key)" : ""), "missing"),
                    SecurityTokenExpiredException => ("the bearer token has expired; get a new one from the identity provider", "expired"),
                    SecurityTokenNotYetValidException => ("the bearer token is not valid yet (its nbf is in the future)", "not yet valid"),
                    SecurityTokenInvalidSignatureException => ("the bearer token's signature does not verify with the identity provider's keys", "bad signature"),
                    SecurityTokenInvalidAudienceException => ($"the bearer token is for another audience; Lockstep accepts audience '{jwt.Audience}'", "wrong audience"),
                    SecurityTokenInvalidIssuerException => ("the bearer token comes from another issuer", "wrong issuer"),
                    _ => ("the bearer token is not valid", "not valid"),
                };
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await Refuse(context.HttpContext, 401, "Unauthorized", detail, "Authorization", reason);
            },
            OnForbidden = context => Forbidden(context.HttpContext, jwt.Roles),
        };
    }

    private static void ConfigureOidc(OpenIdConnectOptions o, OidcOptions oidc)
    {
        o.Authority = oidc.Authority.ToString();
        o.RequireHttpsMetadata = oidc.Authority.Scheme == Uri.UriSchemeHttps;
        o.ClientId = oidc.ClientId;
        o.ClientSecret = oidc.ClientSecret?.Reveal();
        o.ResponseType = "code";
        o.ResponseMode = "query";
        o.UsePkce = true;
        o.SignInScheme = SessionScheme;
        o.SignOutScheme = SessionScheme;
        o.CallbackPath = "/signin-oidc";
        o.SignedOutCallbackPath = "/signout-callback-oidc";
        o.SignedOutRedirectUri = "/login";
        o.SaveTokens = true;
        o.GetClaimsFromUserInfoEndpoint = true;
        o.MapInboundClaims = false;
        o.Scope.Clear();
        o.Scope.Add("openid");
        o.Scope.Add("profile");
        if (oidc.Roles.Claim is not ("roles" or "profile")) o.Scope.Add(oidc.Roles.Claim);
        o.ClaimActions.MapJsonKey(oidc.Roles.Claim, oidc.Roles.Claim);
        o.TokenValidationParameters.NameClaimType = "name";
        o.TokenValidationParameters.RoleClaimType = LockstepClaims.Role;
        // Over http (a provider on this machine) the correlation cookies cannot be Secure; over https they are.
        o.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        o.CorrelationCookie.SameSite = SameSiteMode.Lax;
        o.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        o.NonceCookie.SameSite = SameSiteMode.Lax;
        o.Events = new OpenIdConnectEvents
        {
            OnTicketReceived = context =>
            {
                if (context.Principal?.Identity is not ClaimsIdentity identity) return Task.CompletedTask;
                var roles = oidc.Roles.Map(identity.FindAll(oidc.Roles.Claim).Select(c => c.Value)).ToList();
                var name = identity.FindFirst("name")?.Value ?? identity.FindFirst("preferred_username")?.Value ?? identity.FindFirst("email")?.Value
                    ?? identity.FindFirst("sub")?.Value ?? "user";
                if (roles.Count == 0)
                {
                    // Signed in at the provider, but not someone Lockstep knows: no session, back to the login page.
                    context.HandleResponse();
                    context.Response.Redirect("/login?error=no-role");
                    return Task.CompletedTask;
                }
                LockstepClaims.Add(identity, name, "sign-in", roles);
                return Task.CompletedTask;
            },
            OnRemoteFailure = context =>
            {
                context.HandleResponse();
                var reason = context.Failure?.GetType().Name ?? "unknown";
                context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Lockstep.Security")
                    .LogWarning("Dashboard sign-in failed: {Reason}", reason);
                context.Response.Redirect("/login?error=failed");
                return Task.CompletedTask;
            },
        };
    }

    /// <summary>403 naming who was refused and which role the endpoint needs.</summary>
    internal static Task Forbidden(HttpContext context, RoleMapping? mapping = null)
    {
        var user = context.User.Identity?.IsAuthenticated == true ? context.User : null;
        var needed = Needed(context);
        var who = user is null ? "you" : $"'{LockstepClaims.Actor(user)}'";
        string detail;
        string reason;
        if (user is not null && LockstepClaims.Best(user) is { } role)
        {
            detail = $"{(LockstepClaims.Via(user) == "api key" ? "key " : "")}{who} ({LockstepClaims.Text(role)}) may not do this; it needs the {needed} role";
            reason = "role";
        }
        else
        {
            detail = mapping is null ? $"{who} has no Lockstep role; this needs the {needed} role"
                : $"the token's '{mapping.Claim}' claim names no Lockstep role" + (mapping.Values.Count > 0 ? $" (mapped values: {string.Join(", ", mapping.Values.Keys)})" : " (expected publisher, viewer or operator)") + $"; this needs the {needed} role";
            reason = "no role";
        }
        return Refuse(context, 403, "Forbidden", detail, mapping is null ? null : "Authorization", reason);
    }

    private static string Needed(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<RequiresRole>() is { } required) return LockstepClaims.Text(required.Role);
        return endpoint?.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).LastOrDefault(p => p is not null) ?? "right";
    }

    internal static Task Refuse(HttpContext context, int status, string title, string detail, string? field, string reason) =>
        Problems.Of(status, title, detail, field is null ? null : [new FieldError(null, field, reason)]).ExecuteAsync(context);
}

/// <summary>API keys as an authentication scheme: the same headers, hashing, constant-time comparison and lockout as before.</summary>
internal sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyGate gate)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private enum Outcome { Throttled, Missing, Invalid }

    private Outcome? _outcome;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (gate.Throttled(Context))
        {
            _outcome = Outcome.Throttled;
            return Task.FromResult(AuthenticateResult.Fail("too many wrong keys from this address"));
        }
        if (ApiKeyGate.Presented(Request) is not { } presented)
        {
            _outcome = Outcome.Missing;
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (gate.Authenticate(Context, presented) is not { } key)
        {
            _outcome = Outcome.Invalid;
            return Task.FromResult(AuthenticateResult.Fail("the API key is not valid"));
        }
        var identity = new ClaimsIdentity(Scheme.Name, LockstepClaims.Name, LockstepClaims.Role);
        LockstepClaims.Add(identity, key.Name, "api key", [key.Role]);
        Context.Items[typeof(ApiKey)] = key;
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (_outcome == Outcome.Throttled)
            return Problems.Of(429, "Too many failed keys", "too many requests with a wrong API key from this address; wait and try again").ExecuteAsync(Context);
        Response.Headers.WWWAuthenticate = "Bearer";
        return _outcome == Outcome.Invalid
            ? Problems.Of(401, "Unauthorized", "the API key is not valid", [new FieldError(null, "Authorization", "not a valid key")]).ExecuteAsync(Context)
            : Problems.Of(401, "Unauthorized", "send an API key as 'Authorization: Bearer KEY' or 'X-Api-Key: KEY'", [new FieldError(null, "Authorization", "missing")]).ExecuteAsync(Context);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) => LockstepAuthentication.Forbidden(Context);
}
