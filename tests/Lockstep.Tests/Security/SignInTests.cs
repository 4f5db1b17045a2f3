using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Host;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Playwright;

namespace Lockstep.Tests.Security;

/// <summary>
/// Issue 15's acceptance example, as written (apart from ports and the provider's address), against a real OpenID
/// provider (npm oidc-provider, started here): bearer tokens it issues, the publisher API key beside them, dashboard
/// sign-in in Chromium through the provider, the audit log naming the person, and /openapi/v1.json.
/// </summary>
public sealed class SignInTests
{
    internal const string PublisherKey = "clerk-app-key-5d8e2a9f1c";

    private static string AcceptanceYaml(string registryUrl) => $$"""
        storage: sqlite:data/lockstep.db
        security:
          apiKeys:
            - { name: clerk-app, role: publisher, key: "${PUBLISHER_KEY}" }
          jwt: { authority: "${OIDC_AUTHORITY}", audience: lockstep, roleClaim: groups, roles: { permit-ops: operator, permit-viewers: viewer, permit-system: publisher } }
          oidc: { authority: "${OIDC_AUTHORITY}", clientId: lockstep-dashboard, clientSecret: "${OIDC_CLIENT_SECRET}", roleClaim: groups, roles: { permit-ops: operator, permit-viewers: viewer } }
        systems:
          registry: { type: http, url: {{registryUrl}} }
        flows:
          permits-to-registry: { on: [permitApproved], to: registry, map: "(p) => p", upsert: "PUT /api/records/{key}" }
        """;

    private static LockstepConfig Acceptance(TempFolder folder, OidcProvider provider, PartnerServer registry) =>
        TestEngine.Load(AcceptanceYaml(registry.Url), folder.Path, new Dictionary<string, string>
        {
            ["PUBLISHER_KEY"] = PublisherKey,
            ["OIDC_AUTHORITY"] = provider.Url,
            ["OIDC_CLIENT_SECRET"] = OidcProvider.DashboardSecret,
        });

    [Fact]
    public async Task Acceptance_example_bearer_tokens_by_group_and_the_publisher_key()
    {
        using var folder = new TempFolder();
        await using var provider = await OidcProvider.StartAsync();
        await using var registry = await PartnerServer.StartAsync(app => app.MapPut("/api/records/{key}", () => Results.NoContent()));
        await using var app = LockstepHost.Build(Acceptance(folder, provider, registry), "http://127.0.0.1:0");
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.ListeningUrl()) };

        var system = await provider.ClientTokenAsync("permit-system");
        var monitor = await provider.ClientTokenAsync("permit-monitor");
        var otherAudience = await provider.ClientTokenAsync("permit-system", "urn:elsewhere");
        var noRole = await provider.ClientTokenAsync("canteen-app");
        var expired = await provider.MintAsync(["permit-system"], expired: true);
        var strangerSigned = await provider.MintAsync(["permit-system"], strangerKey: true);

        var published = await SendAsync(http, HttpMethod.Post, "/api/events", bearer: system, body: Event("P-1"));
        var systemReplays = await SendAsync(http, HttpMethod.Post, "/api/dead/replay", bearer: system);
        var monitorStatus = await SendAsync(http, HttpMethod.Get, "/api/status", bearer: monitor);
        var monitorPublishes = await SendAsync(http, HttpMethod.Post, "/api/events", bearer: monitor, body: Event("P-2"));
        var monitorReplays = await SendAsync(http, HttpMethod.Post, "/api/dead/replay", bearer: monitor);
        var expiredAnswer = await SendAsync(http, HttpMethod.Get, "/api/status", bearer: expired);
        var audienceAnswer = await SendAsync(http, HttpMethod.Get, "/api/status", bearer: otherAudience);
        var signatureAnswer = await SendAsync(http, HttpMethod.Post, "/api/events", bearer: strangerSigned, body: Event("P-3"));
        var noRoleAnswer = await SendAsync(http, HttpMethod.Post, "/api/events", bearer: noRole, body: Event("P-4"));
        var keyPublishes = await SendAsync(http, HttpMethod.Post, "/api/events", apiKey: PublisherKey, body: Event("P-5"));
        var keyAsBearer = await SendAsync(http, HttpMethod.Post, "/api/events", bearer: PublisherKey, body: Event("P-6"));
        var nothing = await SendAsync(http, HttpMethod.Get, "/api/status");

        Assert.Equal(HttpStatusCode.Accepted, published.Status);
        AssertProblem(systemReplays, 403, "'permit-system' (publisher) may not do this; it needs the operator role", "role");
        Assert.Equal(HttpStatusCode.OK, monitorStatus.Status);
        AssertProblem(monitorPublishes, 403, "(viewer) may not do this; it needs the publisher role", "role");
        AssertProblem(monitorReplays, 403, "(viewer) may not do this; it needs the operator role", "role");
        AssertProblem(expiredAnswer, 401, "the bearer token has expired", "expired");
        AssertProblem(audienceAnswer, 401, "another audience; Lockstep accepts audience 'lockstep'", "wrong audience");
        AssertProblem(signatureAnswer, 401, "signature does not verify", "bad signature");
        AssertProblem(noRoleAnswer, 403, "the token's 'groups' claim names no Lockstep role", "no role");
        Assert.Equal(HttpStatusCode.Accepted, keyPublishes.Status);
        Assert.Equal(HttpStatusCode.Accepted, keyAsBearer.Status);
        AssertProblem(nothing, 401, "send an API key", "missing");
        Assert.Equal("Bearer", expiredAnswer.Headers.WwwAuthenticate.ToString());
        await app.StopAsync();
    }

    [Fact]
    public async Task Acceptance_example_a_permit_ops_person_signs_in_replays_a_dead_letter_is_audited_and_signs_out()
    {
        using var folder = new TempFolder();
        var rejecting = true;
        await using var provider = await OidcProvider.StartAsync();
        await using var registry = await PartnerServer.StartAsync(app => app.MapPut("/api/records/{key}", () =>
            Volatile.Read(ref rejecting) ? Results.BadRequest("applicant missing") : Results.NoContent()));
        await using var app = LockstepHost.Build(Acceptance(folder, provider, registry), "http://127.0.0.1:0");
        await app.StartAsync();
        var url = app.ListeningUrl();
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        var ops = await provider.ClientTokenAsync("permit-ops-bot");
        Assert.Equal(HttpStatusCode.Accepted, (await SendAsync(http, HttpMethod.Post, "/api/events", apiKey: PublisherKey, body: Event("P-9"))).Status);
        await Eventually.WaitAsync(async () => (await SendAsync(http, HttpMethod.Get, "/api/dead", bearer: ops)).Body.Contains("P-9", StringComparison.Ordinal), "P-9 is a dead letter");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(url);
        var landedOnLogin = page.Url;
        await page.ClickAsync("#oidc");
        await page.FillAsync("input[name=login]", "olga");
        await page.FillAsync("input[name=password]", "any password");
        await page.ClickAsync("button[type=submit]");
        await Assertions.Expect(page.Locator("#me")).ToHaveTextAsync("signed in as Olga Ops (operator)", Bounded);
        var session = (await page.Context.CookiesAsync()).Single(c => c.Name == "lockstep_session");
        await Assertions.Expect(page.Locator("#dead tbody tr")).ToHaveCountAsync(1, new() { Timeout = Limit });
        Volatile.Write(ref rejecting, false);
        await page.Locator("#dead tbody button[data-replay]").ClickAsync();
        await Assertions.Expect(page.Locator("#dead tbody tr")).ToHaveCountAsync(0, new() { Timeout = Limit });
        var audit = (await SendAsync(http, HttpMethod.Get, "/api/audit", bearer: ops)).Body;

        await page.ClickAsync("#signout button");
        // The provider asks whether to end its session too; yes, then it sends the browser back to the dashboard's login.
        await page.ClickAsync("button[name=logout]");
        await page.WaitForURLAsync(url.TrimEnd('/') + "/login", new() { Timeout = Limit });
        await page.GotoAsync(url);
        var afterSignOut = page.Url;
        var cookiesAfter = await page.Context.CookiesAsync();

        Assert.EndsWith("/login", landedOnLogin, StringComparison.Ordinal);
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Lax, session.SameSite);
        Assert.Contains("\"actor\":\"Olga Ops\"", audit);
        Assert.Contains("\"action\":\"replay\"", audit);
        Assert.EndsWith("/login", afterSignOut, StringComparison.Ordinal);
        Assert.DoesNotContain(cookiesAfter, c => c.Name == "lockstep_session");
        await app.StopAsync();
    }

    [Fact]
    public async Task A_person_without_a_lockstep_group_is_turned_back_at_sign_in_and_a_viewer_cannot_replay()
    {
        using var folder = new TempFolder();
        await using var provider = await OidcProvider.StartAsync();
        await using var registry = await PartnerServer.StartAsync(app => app.MapPut("/api/records/{key}", () => Results.NoContent()));
        await using var app = LockstepHost.Build(Acceptance(folder, provider, registry), "http://127.0.0.1:0");
        await app.StartAsync();
        var url = app.ListeningUrl();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);

        var nora = await browser.NewPageAsync();
        await SignInAsync(nora, url, "nora");
        await Assertions.Expect(nora.Locator("p[role=alert]")).ToContainTextAsync("has no Lockstep role", new() { Timeout = Limit });
        var noraCookies = await nora.Context.CookiesAsync();

        var vera = await (await browser.NewContextAsync()).NewPageAsync();
        await SignInAsync(vera, url, "vera");
        await Assertions.Expect(vera.Locator("#me")).ToHaveTextAsync("signed in as Vera Viewer (viewer)", Bounded);
        var replay = await vera.EvaluateAsync<JsonElement>(
            "async () => { const r = await fetch('/api/dead/replay', { method: 'POST' }); return { status: r.status, body: await r.text() }; }");

        Assert.DoesNotContain(noraCookies, c => c.Name == "lockstep_session");
        Assert.Equal(403, replay.GetProperty("status").GetInt32());
        using var problem = JsonDocument.Parse(replay.GetProperty("body").GetString()!);
        Assert.Equal("'Vera Viewer' (viewer) may not do this; it needs the operator role", problem.RootElement.GetProperty("detail").GetString());
        await app.StopAsync();
    }

    [Fact]
    public async Task Offline_issuer_and_signing_keys_accept_the_providers_tokens_without_asking_it()
    {
        using var folder = new TempFolder();
        await using var provider = await OidcProvider.StartAsync();
        using (var fetch = new HttpClient()) await File.WriteAllTextAsync(Path.Combine(folder.Path, "idp-keys.json"), await fetch.GetStringAsync(provider.Url + "/jwks"));
        var token = await provider.ClientTokenAsync("permit-monitor");
        var expired = await provider.MintAsync(["permit-viewers"], expired: true);
        var yaml = $$"""
            storage: sqlite:data/lockstep.db
            security:
              jwt: { issuer: "{{provider.Url}}", signingKeys: [idp-keys.json], audience: lockstep, roleClaim: groups, roles: { permit-viewers: viewer } }
            systems:
              registry: { type: http, url: http://127.0.0.1:9 }
            flows:
              permits-to-registry: { on: [permitApproved], to: registry, upsert: "PUT /api/records/{key}" }
            """;
        var config = TestEngine.Load(yaml, folder.Path);
        await provider.DisposeAsync();
        await using var app = LockstepHost.Build(config, "http://127.0.0.1:0");
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.ListeningUrl()) };

        var status = await SendAsync(http, HttpMethod.Get, "/api/status", bearer: token);
        var expiredAnswer = await SendAsync(http, HttpMethod.Get, "/api/status", bearer: expired);
        var publish = await SendAsync(http, HttpMethod.Post, "/api/events", bearer: token, body: Event("P-1"));

        Assert.Equal(HttpStatusCode.OK, status.Status);
        AssertProblem(expiredAnswer, 401, "expired", "expired");
        AssertProblem(publish, 403, "it needs the publisher role", "role");
        await app.StopAsync();
    }

    [Fact]
    public async Task The_openapi_document_describes_every_mapped_route_with_security_and_passes_the_linter()
    {
        using var folder = new TempFolder();
        await using var provider = await OidcProvider.StartAsync();
        await using var registry = await PartnerServer.StartAsync(app => app.MapPut("/api/records/{key}", () => Results.NoContent()));
        await using var app = LockstepHost.Build(Acceptance(folder, provider, registry), "http://127.0.0.1:0");
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.ListeningUrl()) };

        var text = await http.GetStringAsync("/openapi/v1.json");
        using var document = JsonDocument.Parse(text);
        var paths = document.RootElement.GetProperty("paths");
        var missing = new List<string>();
        foreach (var endpoint in ((IEndpointRouteBuilder)app).DataSources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>())
        {
            var pattern = "/" + System.Text.RegularExpressions.Regex.Replace(endpoint.RoutePattern.RawText!.TrimStart('/'), @"\{([^}:=?]+)[^}]*\}", "{$1}");
            if (pattern == "/openapi/{documentName}.json") continue;
            foreach (var method in endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
            {
                if (!paths.TryGetProperty(pattern, out var item) || !item.TryGetProperty(method.ToLowerInvariant(), out _)) missing.Add($"{method} {pattern}");
            }
        }
        var schemes = document.RootElement.GetProperty("components").GetProperty("securitySchemes");
        var replay = paths.GetProperty("/api/dead/replay").GetProperty("post");
        var file = Path.Combine(folder.Path, "openapi.json");
        await File.WriteAllTextAsync(file, text);
        var (exit, output) = await RunAsync("node", OidcProvider.Tool(".bin/redocly"), "lint", file);

        Assert.Empty(missing);
        Assert.True(paths.GetProperty("/api/events").GetProperty("post").GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));
        Assert.Equal("apiKey", schemes.GetProperty("apiKey").GetProperty("type").GetString());
        Assert.Equal("http", schemes.GetProperty("bearer").GetProperty("type").GetString());
        Assert.Equal("openIdConnect", schemes.GetProperty("oidc").GetProperty("type").GetString());
        Assert.Equal(3, replay.GetProperty("security").GetArrayLength());
        Assert.True(replay.GetProperty("responses").TryGetProperty("403", out var forbidden), "replay documents its 403");
        Assert.True(forbidden.GetProperty("content").TryGetProperty("application/problem+json", out _));
        Assert.True(exit == 0, output);
        await app.StopAsync();
    }

    [Fact]
    public async Task Framework_answers_404_and_405_are_problem_json_in_lockstep_s_shape()
    {
        using var folder = new TempFolder();
        var config = TestEngine.Load("""
            storage: sqlite:data/lockstep.db
            systems:
              registry: { type: http, url: http://127.0.0.1:9 }
            flows:
              permits-to-registry: { on: [permitApproved], to: registry, upsert: "PUT /api/records/{key}" }
            """, folder.Path);
        await using var app = LockstepHost.Build(config, "http://127.0.0.1:0");
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.ListeningUrl()) };

        var unknown = await SendAsync(http, HttpMethod.Get, "/api/nothing-here");
        var wrongMethod = await SendAsync(http, HttpMethod.Put, "/api/status");

        AssertProblem(unknown, 404, "no endpoint at GET /api/nothing-here", null);
        Assert.Contains("\"type\":\"https://lockstep.dev/problems/not-found\"", unknown.Body);
        Assert.Contains("\"title\":\"Not found\"", unknown.Body);
        AssertProblem(wrongMethod, 405, "PUT is not allowed on /api/status", null);
        Assert.Contains("\"type\":\"https://lockstep.dev/problems/method-not-allowed\"", wrongMethod.Body);
        Assert.DoesNotContain("traceId", unknown.Body);
        await app.StopAsync();
    }

    [Fact]
    public void Config_errors_name_file_line_and_key_and_never_show_the_client_secret()
    {
        const string secret = "client-secret-value-7f3a9c";
        var yaml = """
            storage: sqlite:data/lockstep.db
            security:
              jwt:
                authority: http://idp.example.org/realms/city
                roleClaim: groups
                roles: { permit-ops: admin }
              oidc:
                authority: https://idp.example.org
                clientSecret: "${OIDC_CLIENT_SECRET}"
                roles: { permit-system: publisher }
                scope: openid
            systems:
              registry: { type: http, url: http://127.0.0.1:9 }
            flows:
              permits-to-registry: { on: [permitApproved], to: registry, upsert: "PUT /api/records/{key}" }
            """;
        var e = Assert.Throws<ConfigException>(() => TestEngine.Load(yaml, "/etc/lockstep", new Dictionary<string, string> { ["OIDC_CLIENT_SECRET"] = secret }));
        var errors = e.Errors.Select(x => x.ToString()).ToList();
        var all = string.Join("\n", errors) + e.Message;

        Assert.Contains(e.Errors, x => x.Path == "security.jwt.authority" && x.Line == 4 && x.Message.Contains("https", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "security.jwt.audience" && x.Message == "is required");
        Assert.Contains(e.Errors, x => x.Path == "security.jwt.roles.permit-ops" && x.Line == 6 && x.Message.Contains("'admin' is not a role", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "security.oidc.clientId" && x.Message == "is required");
        Assert.Contains(e.Errors, x => x.Path == "security.oidc.roles.permit-system" && x.Line == 10 && x.Message.Contains("expected viewer, operator", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "security.oidc.scope" && x.Line == 11);
        Assert.All(e.Errors, x => Assert.Equal("/etc/lockstep/lockstep.yaml", x.File));
        Assert.DoesNotContain(secret, all, StringComparison.Ordinal);
    }

    private static readonly float Limit = (float)Eventually.Limit.TotalMilliseconds;
    private static readonly LocatorAssertionsToHaveTextOptions Bounded = new() { Timeout = Limit };

    private static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = "/usr/bin/chromium",
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-quic"],
    });

    private static async Task SignInAsync(IPage page, string url, string login)
    {
        await page.GotoAsync(url.TrimEnd('/') + "/login");
        await page.ClickAsync("#oidc");
        await page.FillAsync("input[name=login]", login);
        await page.FillAsync("input[name=password]", "any password");
        await page.ClickAsync("button[type=submit]");
    }

    private static string Event(string key) =>
        $$$"""{"type":"permitApproved","entity":"permit","key":"{{{key}}}","version":1,"data":{"id":"{{{key}}}"}}""";

    private sealed record Answer(HttpStatusCode Status, string Body, HttpResponseHeaders Headers, string? ContentType);

    private static async Task<Answer> SendAsync(HttpClient http, HttpMethod method, string path, string? bearer = null, string? apiKey = null, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        if (apiKey is not null) request.Headers.Add("X-Api-Key", apiKey);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        return new Answer(response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers, response.Content.Headers.ContentType?.MediaType);
    }

    private static void AssertProblem(Answer answer, int status, string detail, string? reason)
    {
        Assert.True((int)answer.Status == status, $"expected {status}, got {(int)answer.Status}: {answer.Body}");
        Assert.Equal("application/problem+json", answer.ContentType);
        using var json = JsonDocument.Parse(answer.Body);
        Assert.Equal(status, json.RootElement.GetProperty("status").GetInt32());
        Assert.Contains(detail, json.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        if (reason is not null) Assert.Equal(reason, json.RootElement.GetProperty("errors")[0].GetProperty("message").GetString());
    }

    private static async Task<(int Exit, string Output)> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Eventually.Limit);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
