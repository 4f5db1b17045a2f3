using System.Text;
using Lockstep.Configuration;
using Lockstep.Connectors.Messaging.Topics;
using Lockstep.Deliveries;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;

namespace Lockstep.Connectors.Messaging.Mqtt;

/// <summary>
/// Publishes one QoS 1 message per record version (optionally retained), with the idempotency key in the MQTT 5 user
/// property <c>lockstep-id</c>, and reports success after the broker's PUBACK. The client connects lazily and is
/// connected again on next use after a drop; a refused connection or publish (not authorized, bad topic) is permanent.
/// </summary>
internal sealed class MqttConnector(MqttSystemOptions options, SystemDefinition system, ConnectorContext context) : IConnector
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _shown = BrokerUrl.Shown(options.Url);
    private IMqttClient? _client;

    public async ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var settings = (MqttFlowOptions)flow.Settings!;
        var topic = settings.Topic.Render(delivery);
        try
        {
            var client = await ClientAsync(cancellationToken).ConfigureAwait(false);
            var builder = new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithPayload(Tombstone.Body(delivery, body).ToArray())
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithRetainFlag(settings.Retain)
                .WithContentType("application/json")
                .WithUserProperty("lockstep-id", Utf8(delivery.IdempotencyKey))
                .WithUserProperty("lockstep-op", Utf8(Tombstone.Op(delivery)));
            foreach (var (name, value) in flow.Headers) builder = builder.WithUserProperty(name, Utf8(value));
            var result = await client.PublishAsync(builder.Build(), cancellationToken).ConfigureAwait(false);
            // Checkpoint: PUBACK received; the broker owns the message now.
            if (result.ReasonCode is MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers) return ConnectorResult.Success();
            var error = $"the broker refused the message on {topic}: {result.ReasonCode} {result.ReasonString}";
            return result.ReasonCode is MqttClientPublishReasonCode.QuotaExceeded or MqttClientPublishReasonCode.UnspecifiedError or MqttClientPublishReasonCode.ImplementationSpecificError
                ? ConnectorResult.Transient(error) : ConnectorResult.Permanent(error);
        }
        catch (MqttConnectingFailedException e) when (Refused(e.Message))
        {
            return ConnectorResult.Permanent(context.Secrets.Redact($"the broker refused the connection: {e.Message}") ?? "");
        }
        catch (Exception e) when (e is MqttCommunicationException or MqttClientNotConnectedException or IOException or TimeoutException or InvalidOperationException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return ConnectorResult.Transient(context.Secrets.Redact($"cannot publish to {_shown}: {e.GetType().Name}: {e.Message}") ?? "");
        }
    }

    // The CONNACK reason is only in the message text of MQTTnet's exception: refusals that no retry can fix.
    private static bool Refused(string message) =>
        new[] { "NotAuthorized", "BadUserNameOrPassword", "ClientIdentifierNotValid", "Banned" }.Any(r => message.Contains(r, StringComparison.Ordinal));

    private static ReadOnlyMemory<byte> Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private async ValueTask<IMqttClient> ClientAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _client) is { IsConnected: true } ready) return ready;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client is { IsConnected: true } connected) return connected;
            _client?.Dispose();
            _client = null;
            var client = new MqttClientFactory().CreateMqttClient();
            try
            {
                var connect = await client.ConnectAsync(MqttClients.Options(options.Url, options.ClientId, system.Timeout, cleanStart: true, TimeSpan.Zero), cancellationToken).ConfigureAwait(false);
                // MQTTnet answers a refused CONNACK with a result, not an exception: the client is simply not connected.
                if (connect.ResultCode != MqttClientConnectResultCode.Success)
                    throw new MqttConnectingFailedException($"CONNACK {connect.ResultCode} {connect.ReasonString}".TrimEnd(), null!); // no inner exception: the broker answered
            }
            catch
            {
                client.Dispose();
                throw;
            }
            Volatile.Write(ref _client, client);
            return client;
        }
        finally
        {
            _gate.Release();
        }
    }

    public ValueTask<TargetRead> ReadAsync(Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken) =>
        ValueTask.FromResult(TargetRead.Failed("an mqtt target cannot be read back"));

    public async ValueTask DisposeAsync()
    {
        if (_client is { IsConnected: true }) await _client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None).ConfigureAwait(false);
        _client?.Dispose();
        _gate.Dispose();
    }
}
