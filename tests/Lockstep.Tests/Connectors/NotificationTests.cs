using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Lockstep.Cli.Demo;
using Lockstep.Sources;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Connectors;

public sealed class NotificationTests
{
    [Fact]
    public async Task An_outage_of_many_records_sends_a_few_aggregated_signed_notices()
    {
        var secret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        var notices = new ConcurrentQueue<(string Body, bool Verified)>();
        var arrived = new Signal();
        var time = Clock.Fake();
        await using var hook = await PartnerServer.StartAsync(app => app.MapPost("/notify", async (HttpContext context) =>
        {
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            var verified = WebhookCheck.Verify(new WebhookVerification([new Lockstep.Configuration.Secret(secret)], null, [], TimeSpan.FromDays(3650)),
                name => context.Request.Headers[name].ToString(), Encoding.UTF8.GetBytes(body), time.GetUtcNow()) is null;
            notices.Enqueue((body, verified));
            arrived.Pulse();
            return Results.NoContent();
        }));
        await using var logistics = await SampleRegistry.StartAsync(failureRate: 0);
        logistics.Override = _ => 400;
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              logistics: { type: http, url: "{{logistics.Url}}", circuit: { minimumThroughput: 1000 } }
            notify:
              ops-hook: { type: webhook, url: "{{hook.Url}}/notify", secret: "${NOTIFY_SECRET}", on: [dead, circuit], window: 10s }
            flows:
              aid-to-logistics:
                entity: supply
                to: logistics
                upsert: PUT /api/records/{key}
                retry: { maxAttempts: 3, initialDelay: 100ms, maxDelay: 1s }
            """;
        await using var engine = await TestEngine.StartAsync(yaml, time, new Dictionary<string, string> { ["NOTIFY_SECRET"] = secret });

        await engine.PublishAsync([.. Enumerable.Range(1, 300).Select(i => new Lockstep.Events.Event($"s{i}", "supplyMoved", "supply", $"S-{i}", 1,
            Lockstep.Records.RecordOp.Upsert, $$"""{"id":"S-{{i}}"}"""))]);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["logistics"].Dead == 300, "300 dead letters", signal: engine.Committed);
        await Eventually.AdvanceUntilAsync(time, TimeSpan.FromSeconds(2), () => Task.FromResult(!notices.IsEmpty), "a notice", arrived);

        Assert.InRange(notices.Count, 1, 3);
        var (body, verified) = notices.First();
        Assert.True(verified);
        Assert.Contains("\"type\":\"lockstep.notice\"", body);
        Assert.Contains("\"dead letters\":300", body);
        Assert.Contains("HTTP 400", body);
        Assert.DoesNotContain(secret, body);
    }
}
