using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Lockstep.Host;
using Lockstep.Sources;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;

namespace Lockstep.Tests.Sources;

/// <summary>
/// Inbound webhooks get the API's limits: a <c>webhook-id</c> of at most 256 characters (as an event id), a version
/// of at most 2^62 - 1, valid Unicode. Each refusal is a 400 naming what was wrong, never a 500.
/// </summary>
public sealed class WebhookInputTests : IAsyncLifetime
{
    private readonly string _secret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
    private readonly TempFolder _folder = new();
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        const string yaml = """
            storage: sqlite:lockstep.db
            systems:
              marshal: { type: http, url: "http://127.0.0.1:9" }
            sources:
              marshal-hooks:
                type: webhook
                verify: { standardWebhooks: "${SECRET}" }
                map: (body) => ({ entity: "inspection", key: body.permitId, version: body.rev, data: body })
            flows:
              unused: { entity: nothing, to: marshal, upsert: "PUT /x/{key}" }
            """;
        _app = LockstepHost.Build(TestEngine.Load(yaml, _folder.Path, new Dictionary<string, string> { ["SECRET"] = _secret }), "http://127.0.0.1:0");
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_app.ListeningUrl()) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _folder.Dispose();
    }

    private async Task<HttpResponseMessage> PushAsync(string id, string body)
    {
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/marshal-hooks") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("webhook-id", id);
        request.Headers.Add("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", WebhookCheck.Sign(_secret, id, timestamp, Encoding.UTF8.GetBytes(body)));
        return await _http.SendAsync(request);
    }

    [Fact]
    public async Task A_signed_push_with_a_webhook_id_over_256_characters_is_a_400_naming_the_header()
    {
        using var longest = await PushAsync(new string('a', 256), """{"permitId":"P-1","rev":1}""");
        using var tooLong = await PushAsync(new string('b', 10_000), """{"permitId":"P-2","rev":1}""");

        Assert.Equal(HttpStatusCode.Accepted, longest.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal("application/problem+json", tooLong.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await tooLong.Content.ReadAsStringAsync());
        var error = Assert.Single(problem.RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal("webhook-id", error.GetProperty("field").GetString());
        Assert.Contains("256", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        using var history = await _http.GetAsync("/api/records/inspection/P-2/history");
        Assert.Equal(HttpStatusCode.NotFound, history.StatusCode);
    }

    [Theory]
    [InlineData("""{"permitId":"P-3","rev":9000000000000000000}""", "out of range")]
    [InlineData("""{"permitId":"P-3","rev":-4}""", "out of range")]
    [InlineData("""{"permitId":"P-\ud800","rev":1}""", "surrogate")]
    public async Task A_push_with_a_version_out_of_range_or_a_lone_surrogate_is_a_400(string body, string reason)
    {
        using var response = await PushAsync("msg_" + Guid.NewGuid().ToString("N"), body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(reason, problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
