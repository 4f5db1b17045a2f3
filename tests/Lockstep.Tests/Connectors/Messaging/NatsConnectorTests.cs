using System.Text.Json;
using Lockstep.Connectors;
using Lockstep.Deliveries;
using Lockstep.Host;
using Lockstep.Records;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Connectors.Messaging;

/// <summary>The nats target against a real nats-server with JetStream (tests/services.sh).</summary>
[Collection("nats broker")]
public sealed class NatsConnectorTests
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..10];

    private string Yaml => $$"""
        storage: sqlite:lockstep.db
        systems:
          bus:
            type: nats
            url: {{TestServers.Nats}}
            stream: T{{_id}}
            subjects: [t{{_id}}.>]
            timeout: 5s
            circuit: { minimumThroughput: 1000 }
        flows:
          permits-to-bus:
            entity: permit
            to: bus
            subject: t{{_id}}.{entity}.{key}
            map: (p) => ({ id: p.id, status: p.status, rev: p.rev })
            retry: { maxAttempts: 1000, initialDelay: 50ms, maxDelay: 500ms }
        """;

    [Fact]
    public async Task Every_version_reaches_the_stream_once_in_per_record_order()
    {
        await using var engine = await TestEngine.StartAsync(Yaml, TimeProvider.System);
        await using var probe = new NatsProbe();

        for (var version = 1; version <= 3; version++)
        {
            await engine.PublishAsync([.. Enumerable.Range(1, 20).Select(i => TestEngine.Permit($"P-{i}", version))]);
            await engine.WaitForStateAsync("synced");
        }
        await engine.PublishAsync(TestEngine.Permit("P-1", 4, op: RecordOp.Delete));
        await engine.WaitForStateAsync("synced");

        var messages = await probe.ReadAllAsync($"T{_id}");
        Assert.Equal(61, messages.Count);
        Assert.Equal(messages.Count, messages.Select(m => m.MsgId).Distinct().Count());
        foreach (var group in messages.Where(m => m.MsgId!.Contains(":P-", StringComparison.Ordinal)).GroupBy(m => m.Subject))
        {
            var versions = group.Select(m => long.Parse(m.MsgId!.Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(versions.Order(), versions);
        }
        Assert.Contains(messages, m => m.MsgId == "permits-to-bus:permit:P-7:3" && m.Subject == $"t{_id}.permit.P-7"
            && JsonDocument.Parse(m.Body).RootElement.GetProperty("rev").GetInt32() == 3);
        Assert.Contains(messages, m => m.MsgId == "permits-to-bus:permit:P-1:4" && JsonDocument.Parse(m.Body).RootElement.GetProperty("deleted").GetBoolean());
    }

    [Fact]
    public async Task The_same_idempotency_key_twice_is_stored_once()
    {
        using var folder = new TempFolder();
        var config = TestEngine.Load(Yaml, folder.Path);
        var context = new ConnectorContext(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, config.Secrets);
        var system = config.Systems["bus"];
        await using var connector = LockstepServiceCollectionExtensions.ConnectorFactories.Single(f => f.Type == "nats").Create(system, context);
        await using var probe = new NatsProbe();
        var delivery = new Delivery(1, "permits-to-bus", "bus", "permit", "P-1", 1, RecordOp.Upsert, "e1", "permitApproved", null, 1);

        var first = await connector.ApplyAsync(delivery, config.Flows[0], """{"id":"P-1"}"""u8.ToArray(), CancellationToken.None);
        var retry = await connector.ApplyAsync(delivery with { Attempt = 2 }, config.Flows[0], """{"id":"P-1"}"""u8.ToArray(), CancellationToken.None);

        Assert.True(first.Kind == ResultKind.Success, first.Error);
        Assert.True(retry.Kind == ResultKind.Success, retry.Error);
        Assert.Equal(1, await probe.CountAsync($"T{_id}"));
    }

    [Fact]
    public async Task A_broker_down_is_transient()
    {
        using var folder = new TempFolder();
        var yaml = Yaml.Replace($"url: {TestServers.Nats}", "url: nats://127.0.0.1:1", StringComparison.Ordinal);
        var config = TestEngine.Load(yaml, folder.Path);
        var context = new ConnectorContext(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, config.Secrets);
        await using var down = LockstepServiceCollectionExtensions.ConnectorFactories.Single(f => f.Type == "nats").Create(config.Systems["bus"], context);
        var delivery = new Delivery(1, "permits-to-bus", "bus", "permit", "P-1", 1, RecordOp.Upsert, "e1", "permitApproved", null, 1);

        var result = await down.ApplyAsync(delivery, config.Flows[0], "{}"u8.ToArray(), CancellationToken.None);

        Assert.Equal(ResultKind.Transient, result.Kind);
    }

    [Fact]
    public async Task A_message_the_stream_refuses_is_permanent()
    {
        await using var probe = new NatsProbe();
        await probe.JetStream.CreateOrUpdateStreamAsync(new NATS.Client.JetStream.Models.StreamConfig($"T{_id}", [$"t{_id}.>"]) { MaxMsgSize = 1024 });
        using var folder = new TempFolder();
        // No stream: in the system, so Lockstep leaves the stream (and its size limit) as the test made it.
        var config = TestEngine.Load(Yaml.Replace($"    stream: T{_id}\n    subjects: [t{_id}.>]\n", "", StringComparison.Ordinal), folder.Path);
        var context = new ConnectorContext(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, config.Secrets);
        await using var connector = LockstepServiceCollectionExtensions.ConnectorFactories.Single(f => f.Type == "nats").Create(config.Systems["bus"], context);
        var delivery = new Delivery(1, "permits-to-bus", "bus", "permit", "P-1", 1, RecordOp.Upsert, "e1", "permitApproved", null, 1);

        var small = await connector.ApplyAsync(delivery, config.Flows[0], """{"id":"P-1"}"""u8.ToArray(), CancellationToken.None);
        var large = await connector.ApplyAsync(delivery with { Version = 2 }, config.Flows[0], System.Text.Encoding.UTF8.GetBytes($$"""{"id":"P-1","notes":"{{new string('x', 2000)}}"}"""), CancellationToken.None);

        Assert.True(small.Kind == ResultKind.Success, small.Error);
        Assert.Equal(ResultKind.Permanent, large.Kind);
        Assert.Contains("JetStream refused", large.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_login_and_a_subject_the_user_may_not_publish_to_are_permanent()
    {
        await using var broker = await OwnBroker.StartNatsAsync("""
            users = [ { user: lockstep, password: "nats-pw-61c0", permissions: { publish: { deny: ["t.denied.>"] } } } ]
            """);
        using var folder = new TempFolder();
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              bus: { type: nats, url: "${NATS_URL}", stream: OWN, subjects: [t.allowed.>], timeout: 2s }
            flows:
              allowed: { entity: permit, to: bus, subject: "t.allowed.{key}" }
              denied: { entity: permit, to: bus, subject: "t.denied.{key}" }
            """;
        var right = TestEngine.Load(yaml, folder.Path, new Dictionary<string, string> { ["NATS_URL"] = $"nats://lockstep:nats-pw-61c0@127.0.0.1:{broker.Port}" });
        var wrong = TestEngine.Load(yaml, folder.Path, new Dictionary<string, string> { ["NATS_URL"] = $"nats://lockstep:not-the-pw@127.0.0.1:{broker.Port}" });
        var factory = LockstepServiceCollectionExtensions.ConnectorFactories.Single(f => f.Type == "nats");
        var context = new ConnectorContext(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, right.Secrets);
        await using var permitted = factory.Create(right.Systems["bus"], context);
        await using var refused = factory.Create(wrong.Systems["bus"], new ConnectorContext(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, wrong.Secrets));
        var delivery = new Delivery(1, "allowed", "bus", "permit", "P-1", 1, RecordOp.Upsert, "e1", "permitApproved", null, 1);

        var allowed = await permitted.ApplyAsync(delivery, right.Flows[0], """{"id":"P-1"}"""u8.ToArray(), CancellationToken.None);
        var denied = await permitted.ApplyAsync(delivery with { Flow = "denied" }, right.Flows[1], """{"id":"P-1"}"""u8.ToArray(), CancellationToken.None);
        var login = await refused.ApplyAsync(delivery, wrong.Flows[0], """{"id":"P-1"}"""u8.ToArray(), CancellationToken.None);

        Assert.True(allowed.Kind == ResultKind.Success, allowed.Error);
        Assert.Equal((ResultKind.Permanent, ResultKind.Permanent), (denied.Kind, login.Kind));
        Assert.Contains("t.denied.P-1", denied.Error, StringComparison.Ordinal);
        Assert.Contains("refused the login", login.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-pw", login.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_broker_restart_during_delivery_loses_nothing()
    {
        await using var engine = await TestEngine.StartAsync(Yaml, TimeProvider.System);
        await using var probe = new NatsProbe();
        await engine.PublishAsync([.. Enumerable.Range(1, 10).Select(i => TestEngine.Permit($"P-{i}", 1))]);
        await engine.WaitForStateAsync("synced");

        await TestServers.ControlAsync("NATS", "kill");
        try
        {
            await engine.PublishAsync([.. Enumerable.Range(11, 40).Select(i => TestEngine.Permit($"P-{i}", 1))]);
            await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["permits-to-bus"].LastFailureAt is not null, "a delivery retrying while NATS is down", signal: engine.Committed);
        }
        finally
        {
            await TestServers.ControlAsync("NATS", "start");
        }
        await engine.WaitForStateAsync("synced");

        var messages = await probe.ReadAllAsync($"T{_id}");
        Assert.Equal(50, messages.Count);
        Assert.Equal(Enumerable.Range(1, 50).Select(i => $"permits-to-bus:permit:P-{i}:1").Order(), messages.Select(m => m.MsgId!).Order());
    }
}
