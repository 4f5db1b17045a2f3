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

    public static async Task<MqttProbe> ConnectAsync(string? subscribe = null)
    {
        var probe = new MqttProbe();
        var url = new Uri(TestServers.Mqtt);
        probe._client.ApplicationMessageReceivedAsync += e =>
        {
            var id = e.ApplicationMessage.UserProperties?.FirstOrDefault(p => p.Name == "lockstep-id")?.ReadValueAsString();
            probe.Received.Enqueue((e.ApplicationMessage.Topic, id, Encoding.UTF8.GetString(e.ApplicationMessage.Payload.ToArray())));
            return Task.CompletedTask;
        };
        await probe._client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(url.Host, url.Port).WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithClientId("probe-" + Guid.NewGuid().ToString("N")[..8]).Build());
        if (subscribe is not null)
            await probe._client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(subscribe, MqttQualityOfServiceLevel.AtLeastOnce).Build());
        return probe;
    }

    public async Task PublishAsync(string topic, string json, string? id)
    {
        var builder = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(json).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        if (id is not null) builder = builder.WithUserProperty("lockstep-id", (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(id));
        await _client.PublishAsync(builder.Build());
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
        _client.Dispose();
    }
}
