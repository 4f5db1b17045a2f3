using Lockstep.Configuration;
using Lockstep.Host.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace Lockstep.Host.Api;

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c> (Microsoft.AspNetCore.OpenApi): every endpoint with its request and
/// response schemas and problem answers, and the security schemes configured (API key, bearer token, OpenID Connect).
/// Endpoints without a summary get "METHOD path", so a new endpoint is described even before it is documented.
/// </summary>
internal static class LockstepOpenApi
{
    public const string DocumentPath = "/openapi/{documentName}.json";
    private const string ApiKeyScheme = "apiKey";
    private const string BearerScheme = "bearer";
    private const string OidcScheme = "oidc";

    public static void AddLockstepOpenApi(this IServiceCollection services, LockstepConfig config)
    {
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = ApiJson.Options.PropertyNamingPolicy;
            o.SerializerOptions.DefaultIgnoreCondition = ApiJson.Options.DefaultIgnoreCondition;
        });
        services.AddOpenApi("v1", o =>
        {
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Lockstep API",
                    Version = "v1",
                    Description = "Publish events, read status, records, dead letters and conflicts, trigger syncs and receive webhooks. "
                        + "Errors are RFC 9457 problem+json naming the field.",
                    License = new OpenApiLicense { Name = "See the Lockstep distribution", Url = new Uri("https://lockstep.dev/license") },
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                foreach (var (name, scheme) in Schemes(config)) document.Components.SecuritySchemes[name] = scheme;
                foreach (var server in document.Servers ?? []) server.Url = server.Url?.TrimEnd('/') is { Length: > 0 } url ? url : server.Url;
                document.Tags = new HashSet<OpenApiTag>(Tags.Select(t => new OpenApiTag { Name = t.Name, Description = t.Description }));
                return Task.CompletedTask;
            });
            o.AddOperationTransformer(async (operation, context, ct) =>
            {
                var endpoint = context.Description;
                operation.Summary ??= $"{endpoint.HttpMethod} /{endpoint.RelativePath}";
                operation.OperationId ??= OperationId(endpoint.HttpMethod ?? "GET", endpoint.RelativePath ?? "");
                var path = "/" + endpoint.RelativePath;
                var tag = Tags.FirstOrDefault(t => t.Prefixes.Any(p => path == p || path.StartsWith(p + "/", StringComparison.Ordinal))).Name ?? "dashboard";
                operation.Tags = new HashSet<OpenApiTagReference> { new(tag, context.Document) };
                // .RequireRole(ApiRole.X), or plain .RequireAuthorization("operator") with a policy name.
                var metadata = endpoint.ActionDescriptor.EndpointMetadata;
                var role = metadata.OfType<RequiresRole>().LastOrDefault()
                    ?? metadata.OfType<Microsoft.AspNetCore.Authorization.IAuthorizeData>().Select(a => ApiRoles.Parse(a.Policy)).OfType<ApiRole>().Select(r => new RequiresRole(r)).LastOrDefault();
                operation.Security = [];
                if (role is not null && config.Secured)
                {
                    operation.Description = (operation.Description is { Length: > 0 } d ? d + "\n\n" : "") + $"Needs the {LockstepClaims.Text(role.Role)} role (or operator).";
                    foreach (var (name, _) in Schemes(config))
                        operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(name, context.Document)] = [] });
                }
                if (metadata.OfType<RequestBodyDoc>().LastOrDefault() is { } body)
                {
                    var schema = await context.GetOrCreateSchemaAsync(body.Type, null, ct);
                    operation.RequestBody = new OpenApiRequestBody
                    {
                        Required = body.Required,
                        Content = new Dictionary<string, OpenApiMediaType> { [body.ContentType] = new OpenApiMediaType { Schema = schema } },
                    };
                }
                operation.Responses ??= new OpenApiResponses();
                if (!operation.Responses.Keys.Any(k => k.StartsWith('4')))
                    operation.Responses["400"] = new OpenApiResponse { Description = "The request is not valid (problem+json)" };
            });
        });
    }

    private static readonly (string Name, string Description, string[] Prefixes)[] Tags =
    [
        ("events", "Publishing events and reading one back", ["/api/events"]),
        ("status", "Status of systems and flows", ["/api/status", "/api/stream"]),
        ("dead letters", "Deliveries that gave up: list, replay, drop", ["/api/dead"]),
        ("records", "Record history and the audit log", ["/api/records", "/api/audit"]),
        ("sync", "Syncs and reconciliations on demand", ["/api/sync"]),
        ("control", "Engine control", ["/api/control", "/api/pause", "/api/resume", "/api/reload", "/api/flows", "/api/sources"]),
        ("conflicts", "Two-way conflicts", ["/api/conflicts"]),
        ("webhooks", "Partners' webhooks (signed)", ["/webhooks"]),
        ("operations", "Health and metrics", ["/health", "/metrics", "/openapi"]),
        ("dashboard", "The dashboard and its sign-in", ["/", "/login", "/logout", "/api/me"]),
    ];

    /// <summary>Every API endpoint of Lockstep's answers these: refusals of the role policies, and an unhandled failure.</summary>
    public static TBuilder WithProblems<TBuilder>(this TBuilder builder, params int[] statuses) where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses) builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(Problems.Problem), ["application/problem+json"]));
        return builder;
    }

    /// <summary>
    /// Documents the request body for OpenAPI only. Unlike <c>Accepts</c>, it does not make routing refuse other content
    /// types: the handlers read their bodies themselves and answer a wrong type in Lockstep's own words.
    /// </summary>
    public static RouteHandlerBuilder WithBody<TBody>(this RouteHandlerBuilder builder, string contentType, bool required = true) =>
        builder.WithMetadata(new RequestBodyDoc(typeof(TBody), contentType, required));

    private sealed record RequestBodyDoc(Type Type, string ContentType, bool Required);

    private static string OperationId(string method, string path)
    {
        var words = path.Split('/', '-', '{', '}').Where(w => w.Length > 0).Select(w => char.ToUpperInvariant(w[0]) + w[1..]);
        return method.ToLowerInvariant() + string.Concat(words);
    }

    private static IEnumerable<(string Name, OpenApiSecurityScheme Scheme)> Schemes(LockstepConfig config)
    {
        if (config.ApiKeys.Count > 0)
        {
            yield return (ApiKeyScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = "X-Api-Key",
                Description = "An API key of security.apiKeys (also accepted as 'Authorization: Bearer KEY').",
            });
        }
        if (config.Jwt is not null)
        {
            yield return (BearerScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = $"A JWT from the organisation's identity provider for audience '{config.Jwt.Audience}'; the role comes from its '{config.Jwt.Roles.Claim}' claim.",
            });
        }
        if (config.Oidc is not null)
        {
            yield return (OidcScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.OpenIdConnect,
                OpenIdConnectUrl = new Uri(config.Oidc.Authority.ToString().TrimEnd('/') + "/.well-known/openid-configuration"),
                Description = "Dashboard sign-in (authorization code flow with PKCE); the session cookie then authorizes the API calls of the dashboard.",
            });
        }
    }
}
