using System.Collections.Concurrent;
using System.Text;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Connectors;

/// <summary>
/// <c>auth: { oauth2: ... }</c> against a real Kestrel server that is both the token endpoint (client credentials in
/// HTTP Basic) and the API (accepting only the tokens it issued and has not revoked).
/// </summary>
public sealed class HttpOAuth2Tests : IAsyncLifetime
{
    private const string ClientSecret = "oauth-client-secret-7f3a9c";
    private readonly FakeTimeProvider _time = Clock.Fake();
    private readonly ConcurrentDictionary<string, bool> _valid = new();
    private readonly ConcurrentQueue<string> _tokenRequests = new();
    private readonly ConcurrentQueue<(string Key, string Authorization, int Status)> _apiRequests = new();
    private readonly Signal _arrived = new();
    private PartnerServer _server = null!;
    private int _issued;

    public async Task InitializeAsync() => _server = await PartnerServer.StartAsync(app =>
    {
        app.MapPost("/oauth/token", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            var basic = context.Request.Headers.Authorization.ToString();
            _tokenRequests.Enqueue($"{form["grant_type"]} {form["scope"]}");
            var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"lockstep:{ClientSecret}"));
            if (basic != expected) return Results.Json(new { error = "invalid_client" }, statusCode: 401);
            var token = $"token-{Interlocked.Increment(ref _issued)}";
            _valid[token] = true;
            return Results.Json(new { access_token = token, token_type = "Bearer", expires_in = 3600 });
        });
        app.MapPut("/api/records/{key}", (string key, HttpContext context) =>
        {
            var authorization = context.Request.Headers.Authorization.ToString();
            var ok = authorization.StartsWith("Bearer ", StringComparison.Ordinal) && _valid.ContainsKey(authorization[7..]);
            _apiRequests.Enqueue((key, authorization, ok ? 204 : 401));
            _arrived.Pulse();
            return ok ? Results.NoContent() : Results.Unauthorized();
        });
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private string Yaml => $$"""
        storage: sqlite:lockstep.db
        systems:
          registry:
            type: http
            url: {{_server.Url}}
            auth: { oauth2: { tokenUrl: "{{_server.Url}}/oauth/token", clientId: lockstep, clientSecret: "${CLIENT_SECRET}", scope: records.write } }
        flows:
          permits:
            on: [permitApproved]
            to: registry
            upsert: PUT /api/records/{key}
            retry: { maxAttempts: 5, initialDelay: 1s, maxDelay: 1s }
        """;

    private Task<TestEngine> StartAsync(string secret = ClientSecret) =>
        TestEngine.StartAsync(Yaml, _time, new Dictionary<string, string> { ["CLIENT_SECRET"] = secret });

    [Fact]
    public async Task Token_is_fetched_once_and_reused_until_it_expires()
    {
        await using var engine = await StartAsync();

        await engine.PublishAsync(TestEngine.Permit("P-1", 1), TestEngine.Permit("P-2", 1), TestEngine.Permit("P-3", 1));
        await engine.WaitForStateAsync("synced");
        var tokensBefore = _tokenRequests.Count;
        _time.Advance(TimeSpan.FromHours(1));
        await engine.PublishAsync(TestEngine.Permit("P-4", 1));
        await Eventually.WaitAsync(() => _apiRequests.Count == 4, "the fourth request", signal: _arrived);

        Assert.Equal(1, tokensBefore);
        Assert.Equal(["client_credentials records.write", "client_credentials records.write"], _tokenRequests);
        Assert.All(_apiRequests.Take(3), r => Assert.Equal(("Bearer token-1", 204), (r.Authorization, r.Status)));
        Assert.Equal("Bearer token-2", _apiRequests.Last().Authorization);
    }

    [Fact]
    public async Task A_401_refreshes_the_token_once_and_resends_within_the_same_attempt()
    {
        await using var engine = await StartAsync();
        await engine.PublishAsync(TestEngine.Permit("P-1", 1));
        await engine.WaitForStateAsync("synced");

        _valid.Clear();
        await engine.PublishAsync(TestEngine.Permit("P-2", 1));
        await Eventually.WaitAsync(() => _apiRequests.Count == 3, "the refused request and its resend", signal: _arrived);
        await engine.WaitForStateAsync("synced");

        Assert.Equal([("P-1", 204), ("P-2", 401), ("P-2", 204)], _apiRequests.Select(r => (r.Key, r.Status)));
        Assert.Equal("Bearer token-2", _apiRequests.Last().Authorization);
        Assert.Null((await engine.StatusAsync()).Systems["registry"].LastFailureAt);
    }

    [Fact]
    public async Task A_refused_client_secret_is_a_permanent_failure_that_never_shows_the_secret()
    {
        const string wrong = "wrong-oauth-secret-1234";
        await using var engine = await StartAsync(wrong);

        await engine.PublishAsync(TestEngine.Permit("P-1", 1));
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["registry"].Dead == 1, "a dead letter", signal: engine.Committed);

        var dead = Assert.Single(await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None));
        Assert.Equal(401, dead.StatusCode);
        Assert.Contains("token request", dead.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, dead.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(engine.Logs.Lines, l => l.Contains(wrong, StringComparison.Ordinal));
        Assert.Empty(_apiRequests);
    }
}
