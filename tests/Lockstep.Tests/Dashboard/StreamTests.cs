using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Lockstep.Host;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Tests.Dashboard;

public sealed class StreamTests
{
    private const string Viewer = "view-key-stream-5a6b7c8d9e";
    private const string Publisher = "pub-key-stream-1f2e3d4c5b";

    [Fact]
    public async Task The_stream_pushes_a_status_snapshot_and_a_tick_when_a_delivery_commits()
    {
        using var folder = new TempFolder();
        await using var target = await PartnerServer.StartAsync(app => app.MapPut("/shipments/{key}", () => Results.NoContent()));
        var yaml = $$"""
            storage: sqlite:lockstep.db
            security:
              apiKeys:
                - { name: board, role: viewer, key: "${VIEWER_KEY}" }
                - { name: app, role: publisher, key: "${PUBLISHER_KEY}" }
            systems:
              logistics: { type: http, url: "{{target.Url}}" }
            flows:
              aid-to-logistics: { entity: supply, to: logistics, upsert: "PUT /shipments/{key}" }
            """;
        var config = TestEngine.Load(yaml, folder.Path, new Dictionary<string, string> { ["VIEWER_KEY"] = Viewer, ["PUBLISHER_KEY"] = Publisher });
        await using var app = LockstepHost.Build(config, "http://127.0.0.1:0");
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.ListeningUrl()), Timeout = Eventually.Limit };
        using var timeout = new CancellationTokenSource(Eventually.Limit);

        using var anonymous = await http.GetAsync("/api/stream", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/stream");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Viewer);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
        await using var events = SseParser.Create(stream).EnumerateAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);
        var first = await NextAsync(events, "status");
        using var publish = new HttpRequestMessage(HttpMethod.Post, "/api/events")
        {
            Content = new StringContent("""{"type":"supplyMoved","entity":"supply","key":"S-1","version":1,"data":{"id":"S-1"}}""", Encoding.UTF8, "application/json"),
        };
        publish.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Publisher);
        using var published = await http.SendAsync(publish, timeout.Token);
        string? tick = null, delivered = null;
        while ((tick is null || delivered is null) && await events.MoveNextAsync())
        {
            var data = events.Current.Data;
            if (events.Current.EventType == "tick") tick = data;
            else if (events.Current.EventType == "status" && Delivered(data) == 1) delivered = data;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("synced", JsonDocument.Parse(first).RootElement.GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.Accepted, published.StatusCode);
        Assert.Equal(1, JsonDocument.Parse(tick!).RootElement.GetProperty("delivered").GetInt32());
        Assert.Equal("synced", JsonDocument.Parse(delivered!).RootElement.GetProperty("state").GetString());
        await app.StopAsync();
    }

    private static long Delivered(string status) =>
        JsonDocument.Parse(status).RootElement.GetProperty("systems").GetProperty("logistics").GetProperty("delivered").GetInt64();

    /// <summary>The data of the next event of that type (others are skipped); bounded by the enumerator's token.</summary>
    private static async Task<string> NextAsync(IAsyncEnumerator<SseItem<string>> events, string type)
    {
        while (await events.MoveNextAsync())
        {
            if (events.Current.EventType == type) return events.Current.Data;
        }
        throw new InvalidOperationException($"the stream ended before a '{type}' event");
    }
}
