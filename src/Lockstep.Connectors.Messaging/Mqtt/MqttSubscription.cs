using System.Buffers;
using Lockstep.Configuration;
using Lockstep.Sources;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace Lockstep.Connectors.Messaging.Mqtt;

/// <summary>
/// A QoS 1 subscription in a persistent session (clean start off, a fixed client id, a session expiry), so the broker keeps
/// messages while Lockstep is down. Each message is acknowledged (PUBACK) only after the sink has committed it; an
/// unacknowledged one is sent again when the session reconnects. The event id is the user property <c>lockstep-id</c>,
/// else a content hash.
/// </summary>
internal sealed class MqttSubscription(MqttSubscriptionOptions options, MqttSystemOptions system, SystemDefinition definition) : ISubscription
{
    public string Describe => $"mqtt {options.Topic} (client {options.ClientId}, QoS 1)";

    public async Task RunAsync(ISubscriptionSink sink, CancellationToken cancellationToken)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var failed = false;
        client.ApplicationMessageReceivedAsync += async message =>
        {
            message.AutoAcknowledge = false;
            // After a failure nothing more is acknowledged: the session resends it all, in order, on reconnect.
            if (failed) return;
            try
            {
                var id = message.ApplicationMessage.UserProperties?.FirstOrDefault(p => p.Name == "lockstep-id")?.ReadValueAsString();
                await sink.AcceptAsync(message.ApplicationMessage.Payload.ToArray(), id, cancellationToken).ConfigureAwait(false);
                // Checkpoint: committed to the journal; only now is the PUBACK sent.
                await message.AcknowledgeAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failed = true;
                if (cancellationToken.IsCancellationRequested) ended.TrySetCanceled(cancellationToken);
                else ended.TrySetException(e);
            }
        };
        client.DisconnectedAsync += e =>
        {
            ended.TrySetException(new IOException($"disconnected from the broker: {e.Reason} {e.ReasonString}"));
            return Task.CompletedTask;
        };
        var connected = await client.ConnectAsync(MqttClients.Options(system.Url, options.ClientId, definition.Timeout, cleanStart: false, options.SessionExpiry), cancellationToken).ConfigureAwait(false);
        // A refused CONNACK is a result, not an exception: say why instead of failing later as "not connected".
        if (connected.ResultCode != MqttClientConnectResultCode.Success)
            throw new InvalidOperationException($"the broker refused the connection: {connected.ResultCode} {connected.ReasonString}".TrimEnd());
        var subscribe = new MqttClientSubscribeOptionsBuilder().WithTopicFilter(options.Topic, MqttQualityOfServiceLevel.AtLeastOnce).Build();
        var result = await client.SubscribeAsync(subscribe, cancellationToken).ConfigureAwait(false);
        if (result.Items.FirstOrDefault() is { } item && (int)item.ResultCode > 2)
            throw new InvalidOperationException($"the broker refused the subscription to {options.Topic}: {item.ResultCode}");
        using (cancellationToken.Register(() => ended.TrySetCanceled(cancellationToken)))
        {
            try
            {
                await ended.Task.ConfigureAwait(false);
            }
            finally
            {
                await DisconnectAsync(client).ConfigureAwait(false);
            }
        }
    }

    // Best effort: the run is ending anyway, and what was not acknowledged stays in the session.
    private static async Task DisconnectAsync(IMqttClient client)
    {
        try
        {
            if (client.IsConnected) await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException)
        {
            // Already gone.
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
