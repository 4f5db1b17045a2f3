using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Host;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Connectors.Messaging;

/// <summary>The amqp subscription source against a real RabbitMQ.</summary>
[Collection("amqp broker")]
public sealed class AmqpSourceTests
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..10];

    private string Yaml => $$"""
        storage: sqlite:lockstep.db
        systems:
          bus: { type: amqp, url: "${AMQP_URL}" }
          archive: { type: file, path: out/messages.jsonl }
        sources:
          inbox:
            type: amqp
            from: bus
            queue: q{{_id}}
            prefetch: 8
            entity: message
            key: id
        flows:
          messages-to-archive:
            entity: message
            to: archive
        """;

    private static Dictionary<string, string> Env => new() { ["AMQP_URL"] = TestServers.Amqp };

    [Fact]
    public async Task Each_message_is_journaled_once_and_a_redelivered_copy_is_deduped_by_its_message_id()
    {
        await using var probe = await AmqpProbe.OpenAsync();
        await probe.BindQueueAsync($"q{_id}", $"x{_id}", "#");
        for (var i = 1; i <= 10; i++) await probe.PublishAsync($"q{_id}", $$"""{"id":"M-{{i}}","text":"hello"}""", $"node-a:M-{i}");
        await using var engine = await TestEngine.StartAsync(Yaml, TimeProvider.System, Env);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources?["inbox"].Accepted == 10, "10 messages journaled");

        for (var i = 1; i <= 10; i++) await probe.PublishAsync($"q{_id}", $$"""{"id":"M-{{i}}","text":"hello"}""", $"node-a:M-{i}");
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources?["inbox"].Items == 20, "the copies received");

        Assert.Equal(10, (await engine.StatusAsync()).Sources!["inbox"].Accepted);
        Assert.NotNull(await engine.Engine.GetEventAsync("inbox:node-a:M-4", CancellationToken.None));
        await engine.WaitForStateAsync("synced");
        Assert.Equal(10, File.ReadAllLines(Path.Combine(engine.Folder.Path, "out", "messages.jsonl")).Length);
        Assert.Empty(await probe.DrainAsync($"q{_id}"));
    }

    [Fact]
    public async Task A_message_is_acknowledged_only_after_the_commit()
    {
        await using var probe = await AmqpProbe.OpenAsync();
        await probe.BindQueueAsync($"q{_id}", $"x{_id}", "#");
        await probe.PublishAsync($"q{_id}", """{"id":"M-1"}""", "m1");
        using var folder = new TempFolder();
        var config = TestEngine.Load(Yaml, folder.Path, Env);
        var context = new ConnectorContext(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, config.Secrets);
        await using var subscription = LockstepServiceCollectionExtensions.ConnectorFactories.Single(f => f.Type == "amqp")
            .CreateSubscription(config.Sources.Single(), config.Systems["bus"], context);

        var failing = new RecordingSink(failFirst: true);
        await Assert.ThrowsAsync<IOException>(() => subscription.RunAsync(failing, CancellationToken.None));
        var good = new RecordingSink(failFirst: false);
        using var stop = new CancellationTokenSource();
        var run = subscription.RunAsync(good, stop.Token);
        await Eventually.WaitAsync(() => good.Ids.Contains("m1"), "m1 redelivered after the failed commit");
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);

        Assert.Equal(["m1"], failing.Ids);
    }

    [Fact]
    public async Task A_broker_killed_while_messages_flow_in_leaves_each_message_journaled_exactly_once()
    {
        static string Body(int i) => $$"""{"id":"M-{{i}}","text":"hello {{i}}"}""";
        await using (var before = await AmqpProbe.OpenAsync())
        {
            await before.BindQueueAsync($"q{_id}", $"x{_id}", "#");
            for (var i = 1; i <= 500; i++) await before.PublishAsync($"q{_id}", Body(i), $"node-a:M-{i}");
        }
        await using var engine = await TestEngine.StartAsync(Yaml, TimeProvider.System, Env);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources?["inbox"].Accepted >= 20, "the stream under way");

        // SIGKILL mid-stream: the messages taken but not acknowledged go back to the queue and come again after the restart.
        await TestServers.ControlAsync("AMQP", "kill");
        try
        {
            await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources?["inbox"].State == "failing", "the subscription failing while RabbitMQ is down");
        }
        finally
        {
            await TestServers.ControlAsync("AMQP", "start");
        }
        await using (var after = await AmqpProbe.OpenAsync())
            for (var i = 501; i <= 600; i++) await after.PublishAsync($"q{_id}", Body(i), $"node-a:M-{i}");
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources?["inbox"].Accepted >= 600, "600 messages journaled", TimeSpan.FromMinutes(2));
        await engine.WaitForStateAsync("synced");

        Assert.Equal(600, (await engine.StatusAsync()).Sources!["inbox"].Accepted);
        for (var i = 1; i <= 600; i += 37) Assert.NotNull(await engine.Engine.GetEventAsync($"inbox:node-a:M-{i}", CancellationToken.None));
        var lines = File.ReadAllLines(Path.Combine(engine.Folder.Path, "out", "messages.jsonl"));
        Assert.Equal(600, lines.Length);
        Assert.Equal(600, lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("key").GetString()).Distinct().Count());
        await using var probe = await AmqpProbe.OpenAsync();
        Assert.Empty(await probe.DrainAsync($"q{_id}"));
    }

    [Fact]
    public void Config_errors_name_the_key()
    {
        var yaml = Yaml.Replace($"queue: q{_id}", "bindingKey: a.#", StringComparison.Ordinal);

        var errors = Assert.Throws<ConfigException>(() => TestEngine.Load(yaml, "/tmp", Env)).Errors;

        Assert.Contains(errors, e => e.Path == "sources.inbox.queue" && e.Message.Contains("required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "sources.inbox.bindingKey" && e.Message.Contains("exchange", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.ToString().Contains("guest", StringComparison.Ordinal));
    }
}
