using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Host;
using Lockstep.Sources;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Connectors.Messaging;

/// <summary>The nats subscription source against a real nats-server with JetStream.</summary>
[Collection("nats broker")]
public sealed class NatsSourceTests
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..10];

    private string Yaml(string durable) => $$"""
        storage: sqlite:lockstep.db
        systems:
          bus: { type: nats, url: {{TestServers.Nats}} }
          archive: { type: file, path: out/messages.jsonl }
        sources:
          inbox:
            type: nats
            from: bus
            stream: S{{_id}}
            subject: s{{_id}}.>
            durable: {{durable}}
            ackWait: 1s
            entity: message
            key: id
        flows:
          messages-to-archive:
            entity: message
            to: archive
        """;

    [Fact]
    public async Task Each_message_is_journaled_once_and_a_redelivery_is_deduped_by_its_message_id()
    {
        await using var probe = new NatsProbe();
        await probe.CreateStreamAsync($"S{_id}", $"s{_id}.>");
        for (var i = 1; i <= 10; i++) await probe.PublishAsync($"s{_id}.room", $$"""{"id":"M-{{i}}","text":"hello {{i}}"}""", $"node-a:M-{i}");
        using var folder = new TempFolder();

        var first = await TestEngine.StartAsync(Yaml("first"), TimeProvider.System, folder: folder);
        await Eventually.WaitAsync(async () => (await first.StatusAsync()).Sources?["inbox"].Accepted == 10, "10 messages journaled");
        var status = (await first.StatusAsync()).Sources!["inbox"];
        Assert.NotNull(await first.Engine.GetEventAsync("inbox:node-a:M-3", CancellationToken.None));
        Assert.Contains("nats", status.Schedule, StringComparison.Ordinal);
        await first.Engine.DisposeAsync();

        // A new consumer reads the whole stream again: every message is a redelivery of one already journaled.
        await using var second = await TestEngine.StartAsync(Yaml("second"), TimeProvider.System, folder: folder);
        await Eventually.WaitAsync(async () => (await second.StatusAsync()).Sources?["inbox"].Items == 10, "10 messages received again");

        Assert.Equal(0, (await second.StatusAsync()).Sources!["inbox"].Accepted);
        await second.WaitForStateAsync("synced");
        Assert.Equal(10, File.ReadAllLines(Path.Combine(folder.Path, "out", "messages.jsonl")).Length);
    }

    [Fact]
    public async Task A_message_is_acknowledged_only_after_the_commit()
    {
        await using var probe = new NatsProbe();
        await probe.CreateStreamAsync($"S{_id}", $"s{_id}.>");
        await probe.PublishAsync($"s{_id}.room", """{"id":"M-1"}""", "m1");
        using var folder = new TempFolder();
        var config = TestEngine.Load(Yaml("acks"), folder.Path);
        var source = config.Sources.Single();
        var context = new ConnectorContext(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, config.Secrets);
        await using var subscription = LockstepServiceCollectionExtensions.ConnectorFactories.Single(f => f.Type == "nats")
            .CreateSubscription(source, config.Systems["bus"], context);

        // The first commit fails (a crash before the journal commit): the message must not be acknowledged.
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
        await using (var before = new NatsProbe())
        {
            await before.CreateStreamAsync($"S{_id}", $"s{_id}.>");
            for (var i = 1; i <= 500; i++) await before.PublishAsync($"s{_id}.room", Body(i), $"node-a:M-{i}");
        }
        await using var engine = await TestEngine.StartAsync(Yaml("kill"), TimeProvider.System);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources?["inbox"].Accepted >= 20, "the stream under way");

        // SIGKILL mid-stream: what was not acknowledged is redelivered after the restart (and what was acknowledged but
        // not yet saved by the consumer comes again, as a duplicate the journal recognises).
        await TestServers.ControlAsync("NATS", "kill");
        await TestServers.ControlAsync("NATS", "start");
        await using (var after = new NatsProbe())
            for (var i = 501; i <= 600; i++) await after.PublishAsync($"s{_id}.room", Body(i), $"node-a:M-{i}");
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources?["inbox"].Accepted >= 600, "600 messages journaled", TimeSpan.FromMinutes(2));
        await engine.WaitForStateAsync("synced");

        Assert.Equal(600, (await engine.StatusAsync()).Sources!["inbox"].Accepted);
        for (var i = 1; i <= 600; i += 37) Assert.NotNull(await engine.Engine.GetEventAsync($"inbox:node-a:M-{i}", CancellationToken.None));
        var lines = File.ReadAllLines(Path.Combine(engine.Folder.Path, "out", "messages.jsonl"));
        Assert.Equal(600, lines.Length);
        Assert.Equal(600, lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("key").GetString()).Distinct().Count());
    }

    [Fact]
    public void Config_errors_name_the_key()
    {
        var yaml = Yaml("x").Replace($"subject: s{_id}.>", "", StringComparison.Ordinal).Replace("from: bus", "from: archive", StringComparison.Ordinal);

        var errors = Assert.Throws<ConfigException>(() => TestEngine.Load(yaml, "/tmp")).Errors;

        Assert.Contains(errors, e => e.Path == "sources.inbox.from" && e.Message.Contains("not a nats system", StringComparison.Ordinal));
        var missing = Assert.Throws<ConfigException>(() => TestEngine.Load(Yaml("x").Replace($"subject: s{_id}.>", "", StringComparison.Ordinal), "/tmp")).Errors;
        Assert.Contains(missing, e => e.Path == "sources.inbox.subject" && e.Message.Contains("required", StringComparison.Ordinal));
    }
}

/// <summary>A sink that records message ids; with failFirst its first call fails like a journal commit that did not happen.</summary>
internal sealed class RecordingSink(bool failFirst) : ISubscriptionSink
{
    private int _calls;

    public System.Collections.Concurrent.ConcurrentQueue<string?> Ids { get; } = new();

    public ValueTask<SubscriptionAccept> AcceptAsync(ReadOnlyMemory<byte> body, string? messageId, CancellationToken cancellationToken)
    {
        Ids.Enqueue(messageId);
        if (failFirst && Interlocked.Increment(ref _calls) == 1) throw new IOException("injected: the journal commit failed");
        return ValueTask.FromResult(SubscriptionAccept.Accepted);
    }
}
