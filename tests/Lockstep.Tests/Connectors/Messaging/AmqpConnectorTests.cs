using System.Globalization;
using System.Text.Json;
using Lockstep.Connectors;
using Lockstep.Deliveries;
using Lockstep.Host;
using Lockstep.Records;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Connectors.Messaging;

/// <summary>The amqp target against a real RabbitMQ (tests/services.sh).</summary>
[Collection("amqp broker")]
public sealed class AmqpConnectorTests
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..10];

    private string Yaml => $$"""
        storage: sqlite:lockstep.db
        systems:
          bus:
            type: amqp
            url: "${AMQP_URL}"
            exchange: x{{_id}}
            timeout: 5s
            circuit: { minimumThroughput: 1000 }
        flows:
          permits-to-bus:
            entity: permit
            to: bus
            routingKey: permits.{entity}.{key}
            map: (p) => ({ id: p.id, status: p.status, rev: p.rev })
            retry: { maxAttempts: 1000, initialDelay: 50ms, maxDelay: 500ms }
        """;

    private static Dictionary<string, string> Env => new() { ["AMQP_URL"] = TestServers.Amqp };

    [Fact]
    public async Task Every_version_is_confirmed_once_in_per_record_order_as_a_persistent_message()
    {
        await using var probe = await AmqpProbe.OpenAsync();
        await probe.BindQueueAsync($"q{_id}", $"x{_id}", "permits.#");
        await using var engine = await TestEngine.StartAsync(Yaml, TimeProvider.System, Env);

        for (var version = 1; version <= 3; version++)
        {
            await engine.PublishAsync([.. Enumerable.Range(1, 20).Select(i => TestEngine.Permit($"P-{i}", version))]);
            await engine.WaitForStateAsync("synced");
        }

        var messages = await probe.DrainAsync($"q{_id}");
        Assert.Equal(60, messages.Count);
        Assert.All(messages, m => Assert.True(m.Persistent));
        Assert.Equal(60, messages.Select(m => m.MessageId).Distinct().Count());
        foreach (var group in messages.GroupBy(m => m.RoutingKey))
        {
            var versions = group.Select(m => long.Parse(m.MessageId!.Split(':')[^1], CultureInfo.InvariantCulture)).ToList();
            Assert.Equal([1, 2, 3], versions);
        }
        Assert.Contains(messages, m => m.MessageId == "permits-to-bus:permit:P-7:3" && m.RoutingKey == "permits.permit.P-7"
            && JsonDocument.Parse(m.Body).RootElement.GetProperty("rev").GetInt32() == 3);
        Assert.DoesNotContain(engine.Logs.Lines, l => l.Contains("guest:guest", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_retry_carries_the_same_message_id_and_an_unbound_routing_key_is_transient()
    {
        await using var probe = await AmqpProbe.OpenAsync();
        await probe.BindQueueAsync($"q{_id}", $"x{_id}", "permits.#");
        using var folder = new TempFolder();
        var config = TestEngine.Load(Yaml, folder.Path, Env);
        var context = new ConnectorContext(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, config.Secrets);
        await using var connector = LockstepServiceCollectionExtensions.ConnectorFactories.Single(f => f.Type == "amqp").Create(config.Systems["bus"], context);
        var delivery = new Delivery(1, "permits-to-bus", "bus", "permit", "P-1", 1, RecordOp.Upsert, "e1", "permitApproved", null, 1);

        var first = await connector.ApplyAsync(delivery, config.Flows[0], """{"id":"P-1"}"""u8.ToArray(), CancellationToken.None);
        var retry = await connector.ApplyAsync(delivery with { Attempt = 2 }, config.Flows[0], """{"id":"P-1"}"""u8.ToArray(), CancellationToken.None);
        var nobody = TestEngine.Load(Yaml.Replace("routingKey: permits.", "routingKey: nobody.", StringComparison.Ordinal), folder.Path, Env).Flows[0];
        var unbound = await connector.ApplyAsync(delivery, nobody, "{}"u8.ToArray(), CancellationToken.None);

        Assert.True(first.Kind == ResultKind.Success, first.Error);
        Assert.True(retry.Kind == ResultKind.Success, retry.Error);
        var messages = await probe.DrainAsync($"q{_id}");
        Assert.Equal(["permits-to-bus:permit:P-1:1", "permits-to-bus:permit:P-1:1"], messages.Select(m => m.MessageId));
        Assert.Equal(ResultKind.Transient, unbound.Kind);
        Assert.Contains("no queue is bound", unbound.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_login_a_refused_or_mismatched_exchange_and_a_missing_virtual_host_are_permanent()
    {
        await using var probe = await AmqpProbe.OpenAsync();
        await probe.DeclareExchangeAsync($"f{_id}", "fanout");
        var broker = new Uri(TestServers.Amqp);
        var delivery = new Delivery(1, "permits-to-bus", "bus", "permit", "P-1", 1, RecordOp.Upsert, "e1", "permitApproved", null, 1);
        using var folder = new TempFolder();

        async Task<ConnectorResult> PublishAsync(string url, string exchange)
        {
            var config = TestEngine.Load(Yaml.Replace($"exchange: x{_id}", $"exchange: {exchange}", StringComparison.Ordinal), folder.Path, new Dictionary<string, string> { ["AMQP_URL"] = url });
            var context = new ConnectorContext(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, config.Secrets);
            await using var connector = LockstepServiceCollectionExtensions.ConnectorFactories.Single(f => f.Type == "amqp").Create(config.Systems["bus"], context);
            return await connector.ApplyAsync(delivery, config.Flows[0], """{"id":"P-1"}"""u8.ToArray(), CancellationToken.None);
        }

        var login = await PublishAsync($"amqp://guest:wrong-pw-2b7d@{broker.Authority}/", $"x{_id}");
        var reserved = await PublishAsync(TestServers.Amqp, $"amq.x{_id}"); // 403: the amq. prefix is the broker's
        var mismatched = await PublishAsync(TestServers.Amqp, $"f{_id}"); // 406: a fanout exchange declared as topic
        var vhost = await PublishAsync($"amqp://guest:guest@{broker.Authority}/nowhere-{_id}", $"x{_id}");

        Assert.Equal(ResultKind.Permanent, login.Kind);
        Assert.DoesNotContain("wrong-pw", login.Error, StringComparison.Ordinal);
        Assert.True(reserved.Kind == ResultKind.Permanent, reserved.Error);
        Assert.Contains("403", reserved.Error, StringComparison.Ordinal);
        Assert.True(mismatched.Kind == ResultKind.Permanent, mismatched.Error);
        Assert.Contains("406", mismatched.Error, StringComparison.Ordinal);
        Assert.True(vhost.Kind == ResultKind.Permanent, vhost.Error);
    }

    [Fact]
    public async Task A_broker_killed_during_a_stream_of_deliveries_loses_nothing()
    {
        await using var engine = await TestEngine.StartAsync(Yaml, TimeProvider.System, Env);
        await using (var setup = await AmqpProbe.OpenAsync()) await setup.BindQueueAsync($"q{_id}", $"x{_id}", "permits.#");
        await engine.PublishAsync([.. Enumerable.Range(1, 1000).Select(i => TestEngine.Permit($"P-{i}", 1))]);
        // SIGKILL while confirms are outstanding: some deliveries are done, the rest in flight or still to claim.
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["permits-to-bus"].Delivered >= 20, "the stream under way", signal: engine.Committed);

        await TestServers.ControlAsync("AMQP", "kill");
        try
        {
            await engine.PublishAsync([.. Enumerable.Range(1001, 100).Select(i => TestEngine.Permit($"P-{i}", 1))]);
            await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["permits-to-bus"].LastFailureAt is not null, "a delivery failing while RabbitMQ is down", signal: engine.Committed);
        }
        finally
        {
            await TestServers.ControlAsync("AMQP", "start");
        }
        await engine.WaitForStateAsync("synced");

        // Confirmed means persisted in the durable queue: every version is there after the crash (a confirm lost with
        // the broker makes a second copy with the same message-id, which a consumer dedupes).
        await using var probe = await AmqpProbe.OpenAsync();
        var ids = (await probe.DrainAsync($"q{_id}")).Select(m => m.MessageId!).ToList();
        Assert.Equal(Enumerable.Range(1, 1100).Select(i => $"permits-to-bus:permit:P-{i}:1").Order(), ids.Distinct().Order());
        Assert.DoesNotContain(engine.Logs.Lines, l => l.Contains("guest:guest", StringComparison.Ordinal));
    }
}
