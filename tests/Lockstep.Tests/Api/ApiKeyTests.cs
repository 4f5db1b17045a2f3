using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Lockstep.Host;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;

namespace Lockstep.Tests.Api;

public sealed class ApiKeyTests : IAsyncLifetime
{
    private const string Publisher = "pub-key-0a1b2c3d4e5f6789";
    private const string Operator = "ops-key-9f8e7d6c5b4a3210";
    private const string Viewer = "view-key-13579bdf2468ace0";
    private readonly TempFolder _folder = new();
    private WebApplication _app = null!;
    private string _url = "";

    public async Task InitializeAsync()
    {
        const string yaml = """
            storage: sqlite:lockstep.db
            security:
              apiKeys:
                - { name: clerk-app, role: publisher, key: "${PUBLISHER_KEY}" }
                - { name: ops,       role: operator,  key: "${OPERATOR_KEY}" }
                - { name: wallboard, role: viewer,    key: "${VIEWER_KEY}" }
            systems:
              logistics: { type: http, url: "http://127.0.0.1:9" }
            flows:
              aid-to-logistics: { entity: supply, to: logistics, upsert: "PUT /shipments/{key}" }
            """;
        var env = new Dictionary<string, string> { ["PUBLISHER_KEY"] = Publisher, ["OPERATOR_KEY"] = Operator, ["VIEWER_KEY"] = Viewer };
        _app = LockstepHost.Build(TestEngine.Load(yaml, _folder.Path, env), "http://127.0.0.1:0");
        await _app.StartAsync();
        _url = _app.ListeningUrl();
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _folder.Dispose();
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? key, bool header = false)
    {
        using var http = new HttpClient { BaseAddress = new Uri(_url) };
        using var request = new HttpRequestMessage(method, path);
        if (method == HttpMethod.Post)
            request.Content = new StringContent("""{"type":"supplyMoved","entity":"supply","key":"S-1","version":1,"data":{"id":"S-1"}}""", Encoding.UTF8, "application/json");
        if (key is not null && header) request.Headers.Add("X-Api-Key", key);
        else if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await http.SendAsync(request);
    }

    [Fact]
    public async Task Roles_decide_who_may_publish_view_and_operate()
    {
        using var none = await SendAsync(HttpMethod.Post, "/api/events", null);
        using var viewerPublishes = await SendAsync(HttpMethod.Post, "/api/events", Viewer);
        using var publisherPublishes = await SendAsync(HttpMethod.Post, "/api/events", Publisher);
        using var viaHeader = await SendAsync(HttpMethod.Get, "/api/status", Viewer, header: true);
        using var publisherViews = await SendAsync(HttpMethod.Get, "/api/status", Publisher);
        using var viewerReplays = await SendAsync(HttpMethod.Post, "/api/dead/replay", Viewer);
        using var operatorReplays = await SendAsync(HttpMethod.Post, "/api/dead/replay", Operator);
        using var health = await SendAsync(HttpMethod.Get, "/health/ready", null);

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Forbidden, viewerPublishes.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, publisherPublishes.StatusCode);
        Assert.Equal(HttpStatusCode.OK, viaHeader.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, publisherViews.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, viewerReplays.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, operatorReplays.StatusCode); // past the gate: the body is an event, not a replay request
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var sync = await SendAsync(HttpMethod.Post, "/api/sync/aid-to-logistics", Operator);
        using var audit = await SendAsync(HttpMethod.Get, "/api/audit", Viewer);
        Assert.Equal(HttpStatusCode.OK, sync.StatusCode);
        Assert.Contains("\"actor\":\"ops\",\"action\":\"sync\",\"target\":\"aid-to-logistics\"", await audit.Content.ReadAsStringAsync());
        var status = await viaHeader.Content.ReadAsStringAsync();
        Assert.DoesNotContain(Viewer, status);
        Assert.DoesNotContain(Publisher, status);
    }

    [Fact]
    public async Task Dashboard_asks_for_a_key_and_keeps_it_in_an_httponly_cookie()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true };
        using var browser = new HttpClient(handler) { BaseAddress = new Uri(_url) };

        using var page = await browser.GetAsync("/");
        using var login = await browser.PostAsync("/login", new FormUrlEncodedContent([new("key", Viewer)]));
        using var dashboard = await browser.GetAsync("/");
        using var status = await browser.GetAsync("/api/status");
        using var replay = await browser.PostAsync("/api/dead/replay", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/login", page.Headers.Location?.ToString());
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("Dead letters", await dashboard.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, replay.StatusCode);
    }

    [Fact]
    public async Task Repeated_wrong_keys_are_refused_for_a_while()
    {
        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            using var response = await SendAsync(HttpMethod.Get, "/api/status", "guess-" + i);
            codes.Add(response.StatusCode);
        }
        using var evenTheRightKey = await SendAsync(HttpMethod.Get, "/api/status", Viewer);

        Assert.All(codes.Take(10), c => Assert.Equal(HttpStatusCode.Unauthorized, c));
        Assert.Equal(HttpStatusCode.TooManyRequests, codes[10]);
        Assert.Equal(HttpStatusCode.TooManyRequests, evenTheRightKey.StatusCode);
        Assert.NotNull(evenTheRightKey.Headers.RetryAfter);
    }
}
