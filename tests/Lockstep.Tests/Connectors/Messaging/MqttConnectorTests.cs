using System.Globalization;
using System.Text.Json;
using Lockstep.Connectors;
using Lockstep.Deliveries;
using Lockstep.Host;
using Lockstep.Records;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Connectors.Messaging;

/// <summary>The mqtt target against a real Mosquitto (tests/services.sh).</summary>
[Collection("mqtt broker")]
public sealed class MqttConnectorTests
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..10];

    private string Yaml => $$"""
        storage: sqlite:lockstep.db
        systems:
          bus: { type: mqtt, url: {{TestServers.Mqtt}}, clientId: target-{{_id}}, timeout: 5s }
        flows:
          permits-to-bus:
            entity: permit
            to: bus
            topic: t{{_id}}/{entity}/{key}
            map: (p) => ({ id: p.id, status: p.status, rev: p.rev })
            retry: { maxAttempts: 1000, initialDelay: 50ms, maxDelay: 500ms }
        """;

    [Fact]
    public async Task Every_version_is_acknowledged_once_in_per_record_order_with_its_lockstep_id()
    {
        await using var probe = await MqttProbe.ConnectAsync($"t{_id}/#");
        await using var engine = await TestEngine.StartAsync(Yaml, TimeProvider.System);

        for (var version = 1; version <= 3; version++)
        {
            await engine.PublishAsync([.. Enumerable.Range(1, 20).Select(i => TestEngine.Permit($"P-{i}", version))]);
            await engine.WaitForStateAsync("synced");
        }
        await Eventually.WaitAsync(() => probe.Received.Count >= 60, "60 messages at the subscriber");

        var messages = probe.Received.ToList();
        Assert.Equal(60, messages.Count);
        Assert.Equal(60, messages.Select(m => m.Id).Distinct().Count());
        foreach (var group in messages.GroupBy(m => m.Topic))
            Assert.Equal([1L, 2L, 3L], group.Select(m => long.Parse(m.Id!.Split(':')[^1], CultureInfo.InvariantCulture)));
        Assert.Contains(messages, m => m.Id == "permits-to-bus:permit:P-7:3" && m.Topic == $"t{_id}/permit/P-7"
            && JsonDocument.Parse(m.Body).RootElement.GetProperty("rev").GetInt32() == 3);
    }

    [Fact]
    public async Task A_retry_carries_the_same_lockstep_id_and_a_broker_down_is_transient()
    {
        await using var probe = await MqttProbe.ConnectAsync($"t{_id}/#");
        using var folder = new TempFolder();
        var config = TestEngine.Load(Yaml, folder.Path);
        var context = new ConnectorContext(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, config.Secrets);
        var factory = LockstepServiceCollectionExtensions.ConnectorFactories.Single(f => f.Type == "mqtt");
        await using var connector = factory.Create(config.Systems["bus"], context);
        var down = TestEngine.Load(Yaml.Replace(TestServers.Mqtt, "mqtt://127.0.0.1:1", StringComparison.Ordinal), folder.Path);
        await using var unreachable = factory.Create(down.Systems["bus"], context);
        var delivery = new Delivery(1, "permits-to-bus", "bus", "permit", "P-1", 1, RecordOp.Upsert, "e1", "permitApproved", null, 1);

        var first = await connector.ApplyAsync(delivery, config.Flows[0], """{"id":"P-1"}"""u8.ToArray(), CancellationToken.None);
        var retry = await connector.ApplyAsync(delivery with { Attempt = 2 }, config.Flows[0], """{"id":"P-1"}"""u8.ToArray(), CancellationToken.None);
        var failed = await unreachable.ApplyAsync(delivery, down.Flows[0], "{}"u8.ToArray(), CancellationToken.None);

        Assert.True(first.Kind == ResultKind.Success, first.Error);
        Assert.True(retry.Kind == ResultKind.Success, retry.Error);
        await Eventually.WaitAsync(() => probe.Received.Count >= 2, "both copies at the subscriber");
        Assert.Equal(["permits-to-bus:permit:P-1:1", "permits-to-bus:permit:P-1:1"], probe.Received.Select(m => m.Id));
        Assert.Equal(ResultKind.Transient, failed.Kind);
    }

    [Fact]
    public async Task A_refused_login_and_a_topic_the_user_may_not_publish_to_are_permanent()
    {
        await using var broker = await OwnBroker.StartMosquittoAsync("lockstep", "mqtt-pw-4e2a", "user lockstep\ntopic readwrite ok/#\n");
        var delivery = new Delivery(1, "permits-to-bus", "bus", "permit", "P-1", 1, RecordOp.Upsert, "e1", "permitApproved", null, 1);
        using var folder = new TempFolder();

        async Task<ConnectorResult> PublishAsync(string credentials, string topic)
        {
            var yaml = Yaml.Replace($"url: {TestServers.Mqtt}", "url: \"${MQTT_URL}\"", StringComparison.Ordinal).Replace($"topic: t{_id}/", $"topic: {topic}/", StringComparison.Ordinal);
            var config = TestEngine.Load(yaml, folder.Path, new Dictionary<string, string> { ["MQTT_URL"] = $"mqtt://{credentials}127.0.0.1:{broker.Port}" });
            var context = new ConnectorContext(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, config.Secrets);
            await using var connector = LockstepServiceCollectionExtensions.ConnectorFactories.Single(f => f.Type == "mqtt").Create(config.Systems["bus"], context);
            return await connector.ApplyAsync(delivery, config.Flows[0], """{"id":"P-1"}"""u8.ToArray(), CancellationToken.None);
        }

        var allowed = await PublishAsync("lockstep:mqtt-pw-4e2a@", "ok");
        var denied = await PublishAsync("lockstep:mqtt-pw-4e2a@", "no");
        var anonymous = await PublishAsync("", "ok");
        var wrong = await PublishAsync("lockstep:wrong-pw-9f1c@", "ok");

        Assert.True(allowed.Kind == ResultKind.Success, allowed.Error);
        Assert.True(denied.Kind == ResultKind.Permanent, denied.Error);
        Assert.Contains("NotAuthorized", denied.Error, StringComparison.Ordinal);
        Assert.True(anonymous.Kind == ResultKind.Permanent, anonymous.Error);
        Assert.True(wrong.Kind == ResultKind.Permanent, wrong.Error);
        Assert.DoesNotContain("wrong-pw", wrong.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_broker_stopped_during_a_stream_of_deliveries_loses_nothing()
    {
        // The subscriber keeps a persistent session and is away during the stream: what the broker takes is queued for it.
        // Mosquitto is stopped (SIGTERM: it writes its store) rather than SIGKILLed: after a SIGKILL Mosquitto itself loses
        // messages it acknowledged since its last autosave (seen in loaded CI runs), which no client can prevent. What
        // this checks is Lockstep's side: deliveries in flight when the broker goes fail, are retried after the restart,
        // and none is lost.
        await using var probe = await MqttProbe.ConnectAsync($"t{_id}/#", session: $"sub-{_id}");
        await probe.LeaveAsync();
        await using var engine = await TestEngine.StartAsync(Yaml, TimeProvider.System);
        await engine.PublishAsync([.. Enumerable.Range(1, 600).Select(i => TestEngine.Permit($"P-{i}", 1))]);
        // Stopped while PUBACKs are outstanding: some deliveries are done, the rest in flight or still to claim.
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["permits-to-bus"].Delivered >= 20, "the stream under way", signal: engine.Committed);

        await TestServers.ControlAsync("MQTT", "stop");
        try
        {
            await engine.PublishAsync([.. Enumerable.Range(601, 100).Select(i => TestEngine.Permit($"P-{i}", 1))]);
            await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["permits-to-bus"].LastFailureAt is not null, "a delivery failing while Mosquitto is down", signal: engine.Committed);
        }
        finally
        {
            await TestServers.ControlAsync("MQTT", "start");
        }
        await probe.ReconnectAsync();
        await engine.WaitForStateAsync("synced");

        // A PUBACK lost with the broker makes a second copy with the same lockstep-id, which a subscriber dedupes.
        var expected = Enumerable.Range(1, 700).Select(i => $"permits-to-bus:permit:P-{i}:1").Order().ToList();
        await Eventually.WaitAsync(() => probe.Received.Select(m => m.Id).Distinct().Count() >= expected.Count, "700 distinct messages at the subscriber");
        Assert.Equal(expected, probe.Received.Select(m => m.Id!).Distinct().Order());
    }
}
