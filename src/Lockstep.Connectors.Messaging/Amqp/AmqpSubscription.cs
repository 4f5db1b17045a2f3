using Lockstep.Configuration;
using Lockstep.Sources;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Lockstep.Connectors.Messaging.Amqp;

/// <summary>
/// Consumes a durable queue with manual acks and a bounded prefetch (<c>basic.qos</c>): each message is acknowledged only
/// after the sink has committed it. Messages are handled one at a time, in queue order; the event id is the publisher's
/// <c>message-id</c>. When the connection drops or a commit fails the run ends, the broker requeues what was not
/// acknowledged, and the engine starts the run again.
/// </summary>
internal sealed class AmqpSubscription(AmqpSubscriptionOptions options, AmqpSystemOptions system, SystemDefinition definition) : ISubscription
{
    public string Describe => $"amqp queue {options.Queue}" + (options.Exchange is null ? "" : $" (bound to {options.Exchange} by {options.BindingKey})");

    public async Task RunAsync(ISubscriptionSink sink, CancellationToken cancellationToken)
    {
        // No automatic recovery here: a drop must end the run, so what was not acknowledged is redelivered in order.
        var connection = await AmqpConnections.OpenAsync(system.Url, $"lockstep-{definition.Name}-{options.Queue}", definition.Timeout, recover: false, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await using (channel.ConfigureAwait(false)) await ConsumeAsync(channel, sink, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ConsumeAsync(IChannel channel, ISubscriptionSink sink, CancellationToken cancellationToken)
    {
        await channel.BasicQosAsync(0, options.Prefetch, false, cancellationToken).ConfigureAwait(false);
        await channel.QueueDeclareAsync(options.Queue, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (options.Exchange is not null)
        {
            await channel.ExchangeDeclareAsync(options.Exchange, system.ExchangeType, durable: true, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            await channel.QueueBindAsync(options.Queue, options.Exchange, options.BindingKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var failed = false;
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, message) =>
        {
            // After a failure nothing more is acknowledged: the rest is requeued with the failed one, in order.
            if (failed) return;
            try
            {
                await sink.AcceptAsync(message.Body, message.BasicProperties.MessageId, cancellationToken).ConfigureAwait(false);
                // Checkpoint: committed to the journal; only now may the broker forget it.
                await channel.BasicAckAsync(message.DeliveryTag, multiple: false, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failed = true;
                if (cancellationToken.IsCancellationRequested) ended.TrySetCanceled(cancellationToken);
                else ended.TrySetException(e);
            }
        };
        channel.ChannelShutdownAsync += (_, reason) =>
        {
            ended.TrySetException(new IOException($"the channel closed: {reason.ReplyCode} {reason.ReplyText}"));
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(options.Queue, autoAck: false, consumer, cancellationToken).ConfigureAwait(false);
        using var stop = cancellationToken.Register(() => ended.TrySetCanceled(cancellationToken));
        await ended.Task.ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
