using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using RabbitMQ.Client;

namespace Lockstep.Bench.Scenarios;

/// <summary>
/// (8) The broker connectors: N permits delivered through the engine to NATS JetStream, RabbitMQ and MQTT (each broker
/// given on the command line), one message per record version, timed from the first publish until every outcome is
/// committed. The limit: a plain client loop with the same concurrency and the same guarantee per message (the JetStream
/// PubAck with a <c>Nats-Msg-Id</c>; a persistent, mandatory message with its publisher confirm; a QoS 1 PUBACK), no journal.
/// </summary>
internal sealed class BrokersScenario(BenchOptions options, Report report, string folder)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (options.Nats is null && options.Amqp is null && options.Mqtt is null)
            throw new ArgumentException("the brokers scenario needs --nats URL, --amqp URL and/or --mqtt URL");
        if (options.Nats is { } nats) await MeasureAsync("nats", nats, "NATS.Net JetStream publish, each awaiting its PubAck (Nats-Msg-Id set)", PlainNatsAsync, cancellationToken);
        if (options.Amqp is { } amqp) await MeasureAsync("amqp", amqp, "RabbitMQ.Client persistent mandatory publish, a channel per worker, each awaiting its confirm", PlainAmqpAsync, cancellationToken);
        if (options.Mqtt is { } mqtt) await MeasureAsync("mqtt", mqtt, "MQTTnet QoS 1 publish, each awaiting its PUBACK", PlainMqttAsync, cancellationToken);
    }

    private delegate Task<double> Plain(string url, string id, int n, int workers, CancellationToken cancellationToken);

    private async Task MeasureAsync(string type, string url, string plainWhat, Plain plain, CancellationToken cancellationToken)
    {
        var n = options.Records;
        var c = options.Concurrency;
        var id = Guid.NewGuid().ToString("N")[..8];
        var plainRate = await plain(url, id, n, c, cancellationToken);
        var engineRate = await EngineAsync(type, url, id, n, c, cancellationToken);
        report.Add(new ResultRow(
            $"(8) {type} connector, {n:N0} records, one message each (unbatched), JS map, concurrency {c}",
            $"{Report.Rate(engineRate)} records/s",
            $"plain {plainWhat}, {c} workers, no journal: {Report.Rate(plainRate)} records/s",
            Report.Percent(engineRate / plainRate), "(context)", "–"));
    }

    private async Task<double> EngineAsync(string type, string url, string id, int n, int c, CancellationToken cancellationToken)
    {
        // The URL goes in through the environment, as a deployment would give it (an AMQP URL holds a password).
        Environment.SetEnvironmentVariable("LOCKSTEP_BENCH_BROKER", url);
        var (system, flow) = type switch
        {
            "nats" => ($"stream: BENCH{id}, subjects: [bench{id}.>]", $"subject: bench{id}.{{key}}"),
            "amqp" => ($"exchange: bench{id}", "routingKey: permits.{key}"),
            _ => ($"clientId: bench-{id}", $"topic: bench{id}/{{key}}"),
        };
        if (type == "amqp") await AmqpQueueAsync(url, id, cancellationToken);
        await using var subscriber = type == "mqtt" ? await MqttCounter.StartAsync(url, $"bench{id}/#", cancellationToken) : null;
        var yaml = $$"""
            storage: sqlite:{{Path.Combine(folder, type + ".db")}}
            systems:
              bus: { type: {{type}}, url: "${LOCKSTEP_BENCH_BROKER}", {{system}}, concurrency: {{c}}, timeout: 10s }
            {{Permits.DeliveryYaml(options)}}
            flows:
              permits-to-bus:
                on: [{{Permits.Type}}]
                to: bus
                {{flow}}
                map: |
                  (p, r) => ({ registryId: p.id, applicantName: `${p.owner.firstName} ${p.owner.lastName}`,
                               geo: { lat: p.location.lat, lon: p.location.lng }, rev: p.rev })
                retry: { maxAttempts: 1000, initialDelay: 50ms, maxDelay: 1s }
            """;
        await using var bench = await BenchEngine.StartAsync(yaml, Path.Combine(folder, type), cancellationToken);
        var engine = bench.Engine;
        var warmup = Math.Min(options.Warmup, n);
        await IntakeScenario.PublishAllAsync(Permits.Batches("WB-", 0, warmup, options.BatchSize), options.Publishers, (b, ct) => engine.PublishAsync(b, ct), cancellationToken);
        if (!await bench.WaitDeliveredAsync(warmup, TimeSpan.FromMinutes(2))) throw new TimeoutException($"{type} warm-up did not finish in 2 minutes");

        var batches = Permits.Batches("B-", 0, n, options.BatchSize);
        var watch = Stopwatch.StartNew();
        await IntakeScenario.PublishAllAsync(batches, options.Publishers, (b, ct) => engine.PublishAsync(b, ct), cancellationToken);
        var finished = await bench.WaitDeliveredAsync(warmup + n, TimeSpan.FromMinutes(10));
        watch.Stop();
        if (!finished) throw new TimeoutException($"{type}: only {bench.Delivered - warmup:N0} of {n:N0} delivered in 10 minutes");
        var rate = n / watch.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"[brokers] {type} engine: {n:N0} records delivered in {watch.Elapsed.TotalSeconds:F2} s = {rate:N0}/s (retries {bench.Retried}, dead {bench.Dead})");

        var held = type switch
        {
            "nats" => await NatsCountAsync(url, $"BENCH{id}", cancellationToken),
            "amqp" => await AmqpDeleteQueueAsync(url, id, cancellationToken),
            _ => await subscriber!.WaitForAsync(warmup + n),
        };
        if (held < warmup + n) report.Note($"{type}: the broker holds {held:N0} messages for {warmup + n:N0} records delivered");
        if (type == "nats") await NatsDeleteStreamAsync(url, $"BENCH{id}", cancellationToken);
        return rate;
    }

    private static byte[] Body(int i) => Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
        $$"""{"registryId":"P-{{i}}","applicantName":"Ada Lovelace {{i % 997}}","geo":{"lat":{{52.0 + (i % 1000) / 1000.0}},"lon":{{13.0 + (i % 777) / 1000.0}}},"rev":1}"""));

    /// <summary>Runs <paramref name="workers"/> loops over records 0..n-1, each one awaited publish per record.</summary>
    private static async Task<double> LoopAsync(string what, int n, int workers, Func<int, int, Task> publish, CancellationToken cancellationToken)
    {
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < n) await publish(worker, i);
        }, cancellationToken)));
        var rate = n / watch.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"[brokers] plain {what}: {n:N0} messages in {watch.Elapsed.TotalSeconds:F2} s = {rate:N0}/s");
        return rate;
    }

    // NATS JetStream: a file stream like the connector's, one PublishAsync per record with its message id.
    private static async Task<double> PlainNatsAsync(string url, string id, int n, int workers, CancellationToken cancellationToken)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = url });
        var jetStream = new NatsJSContext(connection);
        var stream = $"PLAIN{id}";
        await jetStream.CreateOrUpdateStreamAsync(new StreamConfig(stream, [$"plain{id}.>"]) { Storage = StreamConfigStorage.File }, cancellationToken);
        var rate = await LoopAsync("nats", n, workers, async (_, i) =>
        {
            var ack = await jetStream.PublishAsync(string.Create(CultureInfo.InvariantCulture, $"plain{id}.P-{i}"), Body(i),
                opts: new NatsJSPubOpts { MsgId = string.Create(CultureInfo.InvariantCulture, $"plain:permit:P-{i}:1") }, cancellationToken: cancellationToken);
            ack.EnsureSuccess();
        }, cancellationToken);
        await jetStream.DeleteStreamAsync(stream, cancellationToken);
        return rate;
    }

    private static async Task<long> NatsCountAsync(string url, string stream, CancellationToken cancellationToken)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = url });
        return (long)(await new NatsJSContext(connection).GetStreamAsync(stream, cancellationToken: cancellationToken)).Info.State.Messages;
    }

    private static async Task NatsDeleteStreamAsync(string url, string stream, CancellationToken cancellationToken)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = url });
        await new NatsJSContext(connection).DeleteStreamAsync(stream, cancellationToken);
    }

    // RabbitMQ: a durable queue bound to the exchange (else a mandatory message is unroutable), persistent messages, confirms.
    private static async Task<double> PlainAmqpAsync(string url, string id, int n, int workers, CancellationToken cancellationToken)
    {
        await AmqpQueueAsync(url, id, cancellationToken);
        await using var connection = await new ConnectionFactory { Uri = new Uri(url) }.CreateConnectionAsync(cancellationToken);
        var channels = new IChannel[workers];
        for (var w = 0; w < workers; w++)
            channels[w] = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
        var rate = await LoopAsync("amqp", n, workers, async (worker, i) =>
        {
            var properties = new BasicProperties
            {
                Persistent = true,
                MessageId = string.Create(CultureInfo.InvariantCulture, $"plain:permit:P-{i}:1"),
                ContentType = "application/json",
            };
            await channels[worker].BasicPublishAsync($"bench{id}", string.Create(CultureInfo.InvariantCulture, $"permits.P-{i}"), mandatory: true, properties, Body(i), cancellationToken);
        }, cancellationToken);
        foreach (var channel in channels) await channel.DisposeAsync();
        var held = await AmqpDeleteQueueAsync(url, id, cancellationToken);
        if (held != n) Console.Error.WriteLine($"[brokers] plain amqp: the queue held {held:N0} of {n:N0}");
        return rate;
    }

    private static async Task AmqpQueueAsync(string url, string id, CancellationToken cancellationToken)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(url) }.CreateConnectionAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await channel.ExchangeDeclareAsync($"bench{id}", "topic", durable: true, cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync($"bench{id}", durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken);
        await channel.QueueBindAsync($"bench{id}", $"bench{id}", "permits.#", cancellationToken: cancellationToken);
    }

    /// <summary>Deletes the bench queue and exchange; returns how many messages the queue held.</summary>
    private static async Task<long> AmqpDeleteQueueAsync(string url, string id, CancellationToken cancellationToken)
    {
        await using var connection = await new ConnectionFactory { Uri = new Uri(url) }.CreateConnectionAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        var held = await channel.QueueDeleteAsync($"bench{id}", cancellationToken: cancellationToken);
        await channel.ExchangeDeleteAsync($"bench{id}", cancellationToken: cancellationToken);
        return held;
    }

    // MQTT: one client (as the connector has), QoS 1, the id as user property; a QoS 1 subscriber checks all arrived.
    private static async Task<double> PlainMqttAsync(string url, string id, int n, int workers, CancellationToken cancellationToken)
    {
        await using var subscriber = await MqttCounter.StartAsync(url, $"plain{id}/#", cancellationToken);
        var uri = new Uri(url);
        using var client = new MqttClientFactory().CreateMqttClient();
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(uri.Host, uri.Port).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithClientId($"plain-{id}").WithCleanStart(true).Build(), cancellationToken);
        var rate = await LoopAsync("mqtt", n, workers, async (_, i) =>
        {
            var message = new MqttApplicationMessageBuilder()
                .WithTopic(string.Create(CultureInfo.InvariantCulture, $"plain{id}/P-{i}"))
                .WithPayload(Body(i))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithContentType("application/json")
                .WithUserProperty("lockstep-id", (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"plain:permit:P-{i}:1")))
                .Build();
            var result = await client.PublishAsync(message, cancellationToken);
            if (result.ReasonCode is not (MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers))
                throw new InvalidOperationException($"the broker refused a message: {result.ReasonCode}");
        }, cancellationToken);
        await client.DisconnectAsync(new MqttClientDisconnectOptions(), cancellationToken);
        var held = await subscriber.WaitForAsync(n);
        if (held < n) Console.Error.WriteLine($"[brokers] plain mqtt: the subscriber received {held:N0} of {n:N0}");
        return rate;
    }

    /// <summary>A QoS 1 subscriber counting distinct <c>lockstep-id</c>s, so the run checks that the broker passed every message on.</summary>
    private sealed class MqttCounter : IAsyncDisposable
    {
        private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
        private readonly ConcurrentDictionary<string, bool> _ids = new(StringComparer.Ordinal);

        public static async Task<MqttCounter> StartAsync(string url, string filter, CancellationToken cancellationToken)
        {
            var counter = new MqttCounter();
            var uri = new Uri(url);
            counter._client.ApplicationMessageReceivedAsync += e =>
            {
                var id = e.ApplicationMessage.UserProperties?.FirstOrDefault(p => p.Name == "lockstep-id")?.ReadValueAsString();
                if (id is not null) counter._ids.TryAdd(id, true);
                return Task.CompletedTask;
            };
            await counter._client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(uri.Host, uri.Port).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
                .WithClientId("bench-counter-" + Guid.NewGuid().ToString("N")[..8]).WithCleanStart(true).Build(), cancellationToken);
            await counter._client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellationToken);
            return counter;
        }

        /// <summary>Waits (up to 30 s, checking every 50 ms) until <paramref name="count"/> distinct ids arrived; returns how many did.</summary>
        public async Task<long> WaitForAsync(long count)
        {
            for (var i = 0; i < 600 && _ids.Count < count; i++) await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
            return _ids.Count;
        }

        public async ValueTask DisposeAsync()
        {
            if (_client.IsConnected) await _client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
            _client.Dispose();
        }
    }
}
