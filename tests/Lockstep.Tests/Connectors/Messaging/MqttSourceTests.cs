using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Host;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Connectors.Messaging;

/// <summary>The mqtt subscription source against a real Mosquitto.</summary>
[Collection("mqtt broker")]
public sealed class MqttSourceTests
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..10];

    private string Yaml => $$"""
        storage: sqlite:lockstep.db
        systems:
          bus: { type: mqtt, url: {{TestServers.Mqtt}}, clientId: node-{{_id}} }
          archive: { type: file, path: out/messages.jsonl }
        sources:
          inbox:
            type: mqtt
            from: bus
            topic: s{{_id}}/#
            entity: message
            key: id
        flows:
          messages-to-archive:
            entity: message
            to: archive
        """;

    [Fact]
    public async Task Each_message_is_journaled_once_and_a_copy_is_deduped_by_its_lockstep_id()
    {
        await using var engine = await TestEngine.StartAsync(Yaml, TimeProvider.System);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources?["inbox"].State == "ok", "the subscription running");
        await using var probe = await MqttProbe.ConnectAsync();
        // The subscription is made just after the connection: wait until a first message gets through.
        await Eventually.WaitAsync(async () =>
        {
            await probe.PublishAsync($"s{_id}/room", """{"id":"M-0"}""", "node-a:M-0");
            return (await engine.StatusAsync()).Sources?["inbox"].Accepted >= 1;
        }, "the subscription receiving");

        for (var i = 1; i <= 10; i++) await probe.PublishAsync($"s{_id}/room", $$"""{"id":"M-{{i}}","text":"hello"}""", $"node-a:M-{i}");
        for (var i = 1; i <= 10; i++) await probe.PublishAsync($"s{_id}/room", $$"""{"id":"M-{{i}}","text":"hello"}""", $"node-a:M-{i}");
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources?["inbox"].Accepted == 11, "11 messages journaled");
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources?["inbox"].Items >= 21, "the copies received");

        Assert.Equal(11, (await engine.StatusAsync()).Sources!["inbox"].Accepted);
        Assert.NotNull(await engine.Engine.GetEventAsync("inbox:node-a:M-4", CancellationToken.None));
        Assert.Contains("mqtt", (await engine.StatusAsync()).Sources!["inbox"].Schedule, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_is_acknowledged_only_after_the_commit()
    {
        using var folder = new TempFolder();
        var config = TestEngine.Load(Yaml, folder.Path);
        var context = new ConnectorContext(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, config.Secrets);
        await using var subscription = LockstepServiceCollectionExtensions.ConnectorFactories.Single(f => f.Type == "mqtt")
            .CreateSubscription(config.Sources.Single(), config.Systems["bus"], context);
        await using var probe = await MqttProbe.ConnectAsync();

        // The first run creates the persistent session and fails its first commit: the message must not be acknowledged.
        var failing = new RecordingSink(failFirst: true);
        var firstRun = subscription.RunAsync(failing, CancellationToken.None);
        await Eventually.WaitAsync(async () =>
        {
            if (!firstRun.IsCompleted) await probe.PublishAsync($"s{_id}/room", """{"id":"M-1"}""", "m1");
            return firstRun.IsCompleted;
        }, "the first run failing its commit");
        await Assert.ThrowsAsync<IOException>(() => firstRun);
        var good = new RecordingSink(failFirst: false);
        using var stop = new CancellationTokenSource();
        var run = subscription.RunAsync(good, stop.Token);
        await Eventually.WaitAsync(() => good.Ids.Contains("m1"), "m1 sent again to the resumed session");
        await stop.CancelAsync();
        // MQTTnet may end a cancelled run with its own timeout exception; either way the run ends.
        await Assert.ThrowsAnyAsync<Exception>(() => run);

        Assert.Equal("m1", failing.Ids.First());
    }

    [Fact]
    public async Task A_broker_killed_while_messages_flow_in_leaves_each_message_journaled_exactly_once()
    {
        static string Body(int i) => $$"""{"id":"M-{{i}}","text":"hello {{i}}"}""";
        await using var engine = await TestEngine.StartAsync(Yaml, TimeProvider.System);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources?["inbox"].State == "ok", "the subscription running");
        await using (var before = await MqttProbe.ConnectAsync())
        {
            // The subscription is made just after the connection: wait until a first message gets through.
            await Eventually.WaitAsync(async () =>
            {
                await before.PublishAsync($"s{_id}/room", Body(0), "node-a:M-0");
                return (await engine.StatusAsync()).Sources?["inbox"].Accepted >= 1;
            }, "the subscription receiving");
            for (var i = 1; i <= 500; i++) await before.PublishAsync($"s{_id}/room", Body(i), $"node-a:M-{i}");
        }
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources?["inbox"].Accepted >= 20, "the stream under way");

        // SIGKILL mid-stream: the persistent session (saved by Mosquitto) sends what was not acknowledged again after the restart.
        await TestServers.ControlAsync("MQTT", "kill");
        try
        {
            await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources?["inbox"].State == "failing", "the subscription failing while Mosquitto is down");
        }
        finally
        {
            await TestServers.ControlAsync("MQTT", "start");
        }
        await using (var after = await MqttProbe.ConnectAsync())
            for (var i = 501; i <= 600; i++) await after.PublishAsync($"s{_id}/room", Body(i), $"node-a:M-{i}");
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources?["inbox"].Accepted >= 601, "601 messages journaled", TimeSpan.FromMinutes(2));
        await engine.WaitForStateAsync("synced");

        Assert.Equal(601, (await engine.StatusAsync()).Sources!["inbox"].Accepted);
        for (var i = 1; i <= 600; i += 37) Assert.NotNull(await engine.Engine.GetEventAsync($"inbox:node-a:M-{i}", CancellationToken.None));
        var lines = File.ReadAllLines(Path.Combine(engine.Folder.Path, "out", "messages.jsonl"));
        Assert.Equal(601, lines.Length);
        Assert.Equal(601, lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("key").GetString()).Distinct().Count());
    }

    [Fact]
    public void Config_errors_name_the_key()
    {
        var errors = Assert.Throws<ConfigException>(() => TestEngine.Load(Yaml.Replace($"topic: s{_id}/#", "prefetch: 3", StringComparison.Ordinal), "/tmp")).Errors;

        Assert.Contains(errors, e => e.Path == "sources.inbox.topic" && e.Message.Contains("required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "sources.inbox.prefetch" && e.Message.Contains("unknown key", StringComparison.Ordinal));
    }
}
