using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Lockstep.Tests.Support;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace Lockstep.Tests.Connectors.Messaging;

/// <summary>A plain MQTT 5 client on the test broker: subscribes and records what arrives, publishes raw messages.</summary>
internal sealed class MqttProbe : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();

    public ConcurrentQueue<(string Topic, string? Id, string Body)> Received { get; } = new();

    private MqttClientOptions _options = null!;
    private string? _subscribe;

    /// <summary>
    /// Connects (and subscribes at QoS 1 when <paramref name="subscribe"/> is given). With <paramref name="session"/> the
    /// client keeps a persistent session under that client id, so the broker holds its messages while it is away.
    /// </summary>
    public static async Task<MqttProbe> ConnectAsync(string? subscribe = null, string? session = null)
    {
        var probe = new MqttProbe { _subscribe = subscribe };
        var url = new Uri(TestServers.Mqtt);
        probe._client.ApplicationMessageReceivedAsync += e =>
        {
            var id = e.ApplicationMessage.UserProperties?.FirstOrDefault(p => p.Name == "lockstep-id")?.ReadValueAsString();
            probe.Received.Enqueue((e.ApplicationMessage.Topic, id, Encoding.UTF8.GetString(e.ApplicationMessage.Payload.ToArray())));
            return Task.CompletedTask;
        };
        var options = new MqttClientOptionsBuilder().WithTcpServer(url.Host, url.Port).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithClientId(session ?? "probe-" + Guid.NewGuid().ToString("N")[..8]);
        if (session is not null) options = options.WithCleanStart(false).WithSessionExpiryInterval(600);
        probe._options = options.Build();
        await probe.ConnectAsync();
        return probe;
    }

    /// <summary>Disconnects, keeping a persistent session: the broker queues (and, configured so, saves) what arrives meanwhile.</summary>
    public async Task LeaveAsync() => await _client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);

    /// <summary>After a broker restart: connects again (resuming a persistent session) and subscribes again.</summary>
    public async Task ReconnectAsync()
    {
        await Eventually.WaitAsync(() => !_client.IsConnected, "the probe noticing the broker went away");
        await ConnectAsync();
    }

    private async Task ConnectAsync()
    {
        await _client.ConnectAsync(_options);
        if (_subscribe is not null)
            await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(_subscribe, MqttQualityOfServiceLevel.AtLeastOnce).Build());
    }

    public async Task PublishAsync(string topic, string json, string? id)
    {
        var builder = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(json).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (id is not null) builder = builder.WithUserProperty("lockstep-id", (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(id));
        await _client.PublishAsync(builder.Build());
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected) await _client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
        _client.Dispose();
    }
}
