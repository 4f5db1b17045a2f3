using System.Globalization;
using Lockstep.Configuration;
using Lockstep.Connectors.Messaging.Topics;
using Lockstep.Deliveries;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Lockstep.Connectors.Messaging.Amqp;

/// <summary>
/// Publishes one persistent message per record version (<c>message-id</c> = the idempotency key, mandatory) on a channel
/// with publisher confirms, and reports success only after the broker's confirm. The connection is opened lazily and
/// recovers by itself; a channel closed by an error is opened again on next use.
/// </summary>
internal sealed class AmqpConnector(AmqpSystemOptions options, SystemDefinition system, ConnectorContext context) : IConnector
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _shown = BrokerUrl.Shown(options.Url);
    private IConnection? _connection;
    private IChannel? _channel;

    public async ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var routingKey = ((AmqpFlowOptions)flow.Settings!).RoutingKey.Render(delivery);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var channel = await ChannelAsync(cancellationToken).ConfigureAwait(false);
            var headers = new Dictionary<string, object?>
            {
                ["lockstep-op"] = Tombstone.Op(delivery),
                ["lockstep-entity"] = delivery.Entity,
                ["lockstep-key"] = delivery.Key,
                ["lockstep-version"] = delivery.Version.ToString(CultureInfo.InvariantCulture),
            };
            foreach (var (name, value) in flow.Headers) headers[name] = value;
            var properties = new BasicProperties
            {
                Persistent = true,
                MessageId = delivery.IdempotencyKey,
                ContentType = "application/json",
                Type = delivery.EventType,
                Headers = headers,
            };
            await channel.BasicPublishAsync(options.Exchange, routingKey, mandatory: true, properties, Tombstone.Body(delivery, body), cancellationToken).ConfigureAwait(false);
            // Checkpoint: the broker confirmed it (persisted to a durable queue); only now is the delivery done.
            return ConnectorResult.Success();
        }
        catch (PublishException e) when (e.IsReturn)
        {
            // Unroutable: no queue is bound for it yet. Retried (not dropped) so a consumer bound later still gets it.
            return ConnectorResult.Transient($"no queue is bound to exchange '{options.Exchange}' for routing key '{routingKey}'");
        }
        catch (PublishException)
        {
            return ConnectorResult.Transient($"the broker did not confirm the message for routing key '{routingKey}' (nack)");
        }
        catch (Exception e) when (AmqpErrors.IsExpected(e) || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var error = context.Secrets.Redact($"cannot publish to {_shown}: {e.GetType().Name}: {e.Message}") ?? "";
            return AmqpErrors.IsPermanent(e) ? ConnectorResult.Permanent(error) : ConnectorResult.Transient(error);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask<IChannel> ChannelAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true } open) return open;
        if (_channel is not null)
        {
            await _channel.DisposeAsync().ConfigureAwait(false);
            _channel = null;
        }
        if (_connection is { IsOpen: false })
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }
        _connection ??= await AmqpConnections.OpenAsync(options.Url, "lockstep-" + system.Name, system.Timeout, recover: true, cancellationToken).ConfigureAwait(false);
        var channel = await _connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken).ConfigureAwait(false);
        if (options.Exchange.Length > 0)
            await channel.ExchangeDeclareAsync(options.Exchange, options.ExchangeType, durable: true, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        _channel = channel;
        return channel;
    }

    public ValueTask<TargetRead> ReadAsync(Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken) =>
        ValueTask.FromResult(TargetRead.Failed("an amqp target cannot be read back"));

    public async ValueTask DisposeAsync()
    {
        if (_channel is not null) await _channel.DisposeAsync().ConfigureAwait(false);
        if (_connection is not null) await _connection.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }
}
