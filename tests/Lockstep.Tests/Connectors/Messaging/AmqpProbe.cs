using System.Text;
using Lockstep.Tests.Support;
using RabbitMQ.Client;

namespace Lockstep.Tests.Connectors.Messaging;

/// <summary>
/// A plain RabbitMQ client on the test broker: declares and binds queues, publishes (persistent, awaiting the publisher
/// confirm) and reads them as another program would.
/// </summary>
internal sealed class AmqpProbe : IAsyncDisposable
{
    private IConnection _connection = null!;
    private IChannel _channel = null!;

    public static async Task<AmqpProbe> OpenAsync()
    {
        var probe = new AmqpProbe();
        probe._connection = await new ConnectionFactory { Uri = new Uri(TestServers.Amqp) }.CreateConnectionAsync();
        probe._channel = await probe._connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        return probe;
    }

    public async Task DeclareExchangeAsync(string exchange, string type) => await _channel.ExchangeDeclareAsync(exchange, type, durable: false, autoDelete: true);

    public async Task BindQueueAsync(string queue, string exchange, string bindingKey)
    {
        await _channel.ExchangeDeclareAsync(exchange, "topic", durable: true);
        await _channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        await _channel.QueueBindAsync(queue, exchange, bindingKey);
    }

    public async Task PublishAsync(string queue, string json, string? messageId) =>
        await _channel.BasicPublishAsync("", queue, false, new BasicProperties { MessageId = messageId, Persistent = true }, Encoding.UTF8.GetBytes(json));

    /// <summary>Takes every message in the queue (acknowledging them), in order.</summary>
    public async Task<List<(string RoutingKey, string? MessageId, bool Persistent, string Body)>> DrainAsync(string queue)
    {
        var messages = new List<(string, string?, bool, string)>();
        for (var i = 0; i < 100_000; i++)
        {
            var message = await _channel.BasicGetAsync(queue, autoAck: true);
            if (message is null) break;
            messages.Add((message.RoutingKey, message.BasicProperties.MessageId, message.BasicProperties.Persistent, Encoding.UTF8.GetString(message.Body.Span)));
        }
        return messages;
    }

    public async ValueTask DisposeAsync()
    {
        await _channel.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
