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

    [Fact]
    public async Task Reconciliation_drift_reaches_a_channel_only_above_its_threshold()
    {
        var sent = new ConcurrentQueue<Lockstep.Notifications.Notice>();
        var notifier = new Recorder(sent);
        var quiet = new Lockstep.Notifications.NotifyChannel("quiet", "webhook", new HashSet<Lockstep.Notifications.NoticeKind> { Lockstep.Notifications.NoticeKind.Drift },
            TimeSpan.FromMinutes(1), null, DriftAbove: 10);
        var loud = quiet with { Name = "loud", DriftAbove = 0 };
        var board = new Lockstep.Notifications.NoticeBoard([(quiet, notifier), (loud, notifier)], Clock.Fake(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        board.Post(Lockstep.Notifications.NoticeKind.Drift, "marshal", "reconciliation drift", "3 records drifted", amount: 3);
        await board.FlushAsync(quiet, notifier, CancellationToken.None);
        await board.FlushAsync(loud, notifier, CancellationToken.None);
        var afterSmall = sent.Select(n => n.Channel).ToList();
        board.Post(Lockstep.Notifications.NoticeKind.Drift, "marshal", "reconciliation drift", "11 records drifted", amount: 11);
        await board.FlushAsync(quiet, notifier, CancellationToken.None);

        Assert.Equal(["loud"], afterSmall);
        Assert.Equal(["loud", "quiet"], sent.Select(n => n.Channel));
        Assert.Equal(["11 records drifted"], sent.Last().Systems["marshal"].Samples);
    }

    [Fact]
    public void Notice_kinds_and_the_drift_threshold_are_checked_at_load()
    {
        var yaml = """
            storage: sqlite:lockstep.db
            systems:
              logistics: { type: http, url: "http://127.0.0.1:9" }
            notify:
              ops-hook: { type: webhook, url: "http://127.0.0.1:9/notify", secret: "whsec_c2VjcmV0c2VjcmV0", on: [conflict, drift, gossip], driftAbove: -1 }
            flows:
              aid-to-logistics: { entity: supply, to: logistics, upsert: "PUT /api/records/{key}" }
            """;
        using var folder = new TempFolder();

        var errors = Assert.Throws<Lockstep.Configuration.ConfigException>(() => TestEngine.Load(yaml, folder.Path)).Errors.Select(e => e.ToString()).ToList();

        Assert.Contains(errors, e => e.Contains("notify.ops-hook.on: 'gossip' is not a notice kind (dead, circuit, drift, source, conflict, journal)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("notify.ops-hook.driftAbove:", StringComparison.Ordinal));
        Assert.Equal(2, errors.Count);
    }

    private sealed class Recorder(ConcurrentQueue<Lockstep.Notifications.Notice> sent) : Lockstep.Notifications.INotifier
    {
        public ValueTask<bool> SendAsync(Lockstep.Notifications.Notice notice, CancellationToken cancellationToken)
        {
            sent.Enqueue(notice);
            return ValueTask.FromResult(true);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
