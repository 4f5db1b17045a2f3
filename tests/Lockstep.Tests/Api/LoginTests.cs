using System.Net;
using System.Text;
using Lockstep.Host;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;

namespace Lockstep.Tests.Api;

/// <summary>The dashboard's <c>POST /login</c>: only a configured viewer or operator key becomes the cookie.</summary>
public sealed class LoginTests : IAsyncLifetime
{
    private const string Publisher = "pub-key-0a1b2c3d4e5f6789";
    private const string Viewer = "view-key-13579bdf2468ace0";
    private readonly TempFolder _folder = new();
    private WebApplication _app = null!;
    private HttpClient _browser = null!;

    public async Task InitializeAsync()
    {
        const string yaml = """
            storage: sqlite:lockstep.db
            security:
              apiKeys:
                - { name: clerk-app, role: publisher, key: "${PUBLISHER_KEY}" }
                - { name: wallboard, role: viewer,    key: "${VIEWER_KEY}" }
            systems:
              logistics: { type: http, url: "http://127.0.0.1:9" }
            flows:
              aid-to-logistics: { entity: supply, to: logistics, upsert: "PUT /shipments/{key}" }
            """;
        var env = new Dictionary<string, string> { ["PUBLISHER_KEY"] = Publisher, ["VIEWER_KEY"] = Viewer };
        _app = LockstepHost.Build(TestEngine.Load(yaml, _folder.Path, env), "http://127.0.0.1:0");
        await _app.StartAsync();
        _browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(_app.ListeningUrl()) };
    }

    public async Task DisposeAsync()
    {
        _browser.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _folder.Dispose();
    }

    private Task<HttpResponseMessage> LoginAsync(string key) => _browser.PostAsync("/login", new FormUrlEncodedContent([new("key", key)]));

    [Fact]
    public async Task A_json_body_is_a_415_problem_and_sets_no_cookie()
    {
        using var response = await _browser.PostAsync("/login", new StringContent($"{{\"key\":\"{Viewer}\"}}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task A_wrong_key_is_refused_without_a_cookie_and_the_right_one_is_kept()
    {
        using var wrong = await LoginAsync("not-a-key-at-all-0000");
        using var publisher = await LoginAsync(Publisher);
        using var right = await LoginAsync(Viewer);

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.False(wrong.Headers.Contains("Set-Cookie"));
        Assert.Contains("not valid", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, publisher.StatusCode);
        Assert.False(publisher.Headers.Contains("Set-Cookie"));
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
        Assert.Contains("lockstep_key=", Assert.Single(right.Headers.GetValues("Set-Cookie")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_keys_at_the_login_count_toward_the_same_limit_as_the_api()
    {
        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            using var response = await LoginAsync("guess-" + i);
            codes.Add(response.StatusCode);
        }
        using var login = await LoginAsync(Viewer);
        using var api = new HttpRequestMessage(HttpMethod.Get, "/api/status") { Headers = { { "X-Api-Key", Viewer } } };
        using var status = await _browser.SendAsync(api);

        Assert.All(codes, c => Assert.Equal(HttpStatusCode.Unauthorized, c));
        Assert.Equal(HttpStatusCode.TooManyRequests, login.StatusCode);
        Assert.False(login.Headers.Contains("Set-Cookie"));
        Assert.Equal(HttpStatusCode.TooManyRequests, status.StatusCode);
    }
}
