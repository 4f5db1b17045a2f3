using Lockstep.Connectors;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Tests.Control;

/// <summary><c>lockstep check SYSTEM</c> on a real engine against a real Kestrel partner: reachable, authenticated, operations allowed.</summary>
public sealed class CheckTests : IAsyncLifetime
{
    private PartnerServer _partner = null!;

    public async Task InitializeAsync() =>
        _partner = await PartnerServer.StartAsync(app => app.MapMethods("/api/records/{key}", ["OPTIONS"], (HttpContext context) =>
        {
            if (context.Request.Headers.Authorization != "Bearer good-token-5b1c")
                return Results.Text("invalid token for this tenant", statusCode: 401);
            context.Response.Headers.Allow = "PUT, GET";
            return Results.NoContent();
        }));

    public async Task DisposeAsync() => await _partner.DisposeAsync();

    private static string Yaml(string url) => $$"""
        storage: sqlite:lockstep.db
        systems:
          registry: { type: http, url: "{{url}}", auth: { bearer: ${TOKEN} } }
        flows:
          permits: { on: [permitApproved], to: registry, upsert: "PUT /api/records/{key}", delete: "DELETE /api/records/{key}" }
        """;

    private static async Task<ConnectionCheck> CheckAsync(string url, string token)
    {
        await using var engine = await TestEngine.StartAsync(Yaml(url), Clock.Fake(), new Dictionary<string, string> { ["TOKEN"] = token });
        return (await engine.Engine.CheckAsync("registry", CancellationToken.None))!;
    }

    [Fact]
    public async Task A_reachable_authenticated_system_passes_and_a_method_the_server_does_not_allow_fails()
    {
        var check = await CheckAsync(_partner.Url, "good-token-5b1c");

        Assert.False(check.Ok);
        Assert.Equal(["connect", "authenticate", "permits: upsert PUT /api/records/{key}", "permits: delete DELETE /api/records/{key}"], check.Steps.Select(s => s.Name));
        Assert.Equal(["ok", "ok", "ok", "failed"], check.Steps.Select(s => s.Result));
        Assert.Contains("DELETE is not allowed (Allow: PUT, GET)", check.Steps[3].Detail);
    }

    [Fact]
    public async Task A_wrong_credential_fails_authentication_with_the_server_s_answer_and_no_secret()
    {
        var check = await CheckAsync(_partner.Url, "wrong-token-99e2");

        var failed = Assert.Single(check.Steps, s => s.Result == CheckStep.Failed);
        Assert.Equal("authenticate", failed.Name);
        Assert.Contains("HTTP 401", failed.Detail);
        Assert.Contains("invalid token for this tenant", failed.Detail);
        Assert.DoesNotContain("wrong-token-99e2", string.Join('\n', check.Steps.Select(s => s.Detail)));
    }

    [Fact]
    public async Task An_unreachable_system_fails_to_connect_with_the_underlying_error_in_full()
    {
        var closed = $"http://127.0.0.1:{LockstepProcess.FreePort()}";

        var check = await CheckAsync(closed, "good-token-5b1c");

        var step = Assert.Single(check.Steps);
        Assert.Equal(("connect", "failed"), (step.Name, step.Result));
        Assert.Contains("HttpRequestException", step.Detail);
        Assert.Contains("---> SocketException: Connection refused", step.Detail);
    }
}
