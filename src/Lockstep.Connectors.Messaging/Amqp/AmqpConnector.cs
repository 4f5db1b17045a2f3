using System.Collections.Concurrent;
using System.Globalization;
using Lockstep.Configuration;
using Lockstep.Connectors.Messaging.Topics;
using Lockstep.Deliveries;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Lockstep.Connectors.Messaging.Amqp;

/// <summary>
/// Publishes one persistent message per record version (<c>message-id</c> = the idempotency key, mandatory) on a channel
/// with publisher confirms, and reports success only after the broker's confirm. Concurrent deliveries each borrow a
/// channel of their own from a pool (at most the system's <c>concurrency</c> are ever open), so confirms are awaited in
/// parallel. The connection is opened lazily and recovers by itself; a channel closed by an error is dropped from the
/// pool and a new one opened on next use.
/// </summary>
internal sealed class AmqpConnector(AmqpSystemOptions options, SystemDefinition system, ConnectorContext context) : IConnector
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentBag<IChannel> _idle = [];
    private readonly string _shown = BrokerUrl.Shown(options.Url);
    private IConnection? _connection;

    public async ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var routingKey = ((AmqpFlowOptions)flow.Settings!).RoutingKey.Render(delivery);
        IChannel? channel = null;
        try
        {
            channel = await RentAsync(cancellationToken).ConfigureAwait(false);
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
            if (channel is { IsOpen: true }) _idle.Add(channel);
            else if (channel is not null) await DisposeQuietlyAsync(channel).ConfigureAwait(false);
        }
    }

    /// <summary>An open idle channel, or a new one (the exchange declared on it, which is idempotent).</summary>
    private async ValueTask<IChannel> RentAsync(CancellationToken cancellationToken)
    {
        while (_idle.TryTake(out var idle))
        {
            if (idle.IsOpen) return idle;
            await DisposeQuietlyAsync(idle).ConfigureAwait(false);
        }
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken).ConfigureAwait(false);
        try
        {
            if (options.Exchange.Length > 0)
                await channel.ExchangeDeclareAsync(options.Exchange, options.ExchangeType, durable: true, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            return channel;
        }
        catch
        {
            await DisposeQuietlyAsync(channel).ConfigureAwait(false);
            throw;
        }
    }

    private async ValueTask<IConnection> ConnectionAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _connection) is { IsOpen: true } open) return open;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is { IsOpen: false })
            {
                await _connection.DisposeAsync().ConfigureAwait(false);
                _connection = null;
            }
            _connection ??= await AmqpConnections.OpenAsync(options.Url, "lockstep-" + system.Name, system.Timeout, recover: true, cancellationToken).ConfigureAwait(false);
            return _connection;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static async ValueTask DisposeQuietlyAsync(IChannel channel)
    {
        try
        {
            await channel.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (AmqpErrors.IsExpected(e) || e is ObjectDisposedException)
        {
            // Already closed with its connection: nothing left to release.
        }
    }

    public ValueTask<TargetRead> ReadAsync(Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken) =>
        ValueTask.FromResult(TargetRead.Failed("an amqp target cannot be read back"));

    public async ValueTask DisposeAsync()
    {
        while (_idle.TryTake(out var channel)) await DisposeQuietlyAsync(channel).ConfigureAwait(false);
        if (_connection is not null) await _connection.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }
}
