using Lockstep.Configuration;
using Lockstep.Connectors.Messaging.Topics;
using Lockstep.Sources;

namespace Lockstep.Connectors.Messaging.Amqp;

/// <summary>
/// <c>type: amqp</c>: RabbitMQ over AMQP 0-9-1. As a target, persistent messages with publisher confirms and
/// <c>message-id</c> = the idempotency key; as a source, a durable queue consumed with manual acks after the journal commit.
/// </summary>
public sealed class AmqpConnectorFactory : IConnectorFactory
{
    private static readonly string[] ExchangeTypes = ["topic", "direct", "fanout", "headers"];

    public string Type => "amqp";

    public IReadOnlyCollection<string> SystemKeys { get; } = ["url", "exchange", "exchangeType"];

    public IReadOnlyCollection<string> FlowKeys { get; } = ["routingKey"];

    public IReadOnlyCollection<string> SubscriptionKeys { get; } = ["queue", "exchange", "bindingKey", "prefetch"];

    public object? BindSystem(ConfigSection system)
    {
        var url = BrokerUrl.Read(system, "url", "amqp", "amqps");
        var exchange = system.String("exchange") ?? "";
        var type = system.String("exchangeType") ?? "topic";
        if (!ExchangeTypes.Contains(type)) system.Error("exchangeType", $"'{type}' is not an exchange type ({string.Join(", ", ExchangeTypes)})");
        return url is null ? null : new AmqpSystemOptions(url, exchange, type);
    }

    public object? BindFlow(ConfigSection flow, SystemDefinition system)
    {
        var key = TopicTemplate.Read(flow, "routingKey", TopicTemplate.Replacing(".*#"));
        return key is null ? null : new AmqpFlowOptions(key);
    }

    public object? BindSubscription(ConfigSection source, SystemDefinition system)
    {
        var queue = source.String("queue", required: true);
        var exchange = source.String("exchange");
        var binding = source.String("bindingKey") ?? "#";
        if (exchange is null && source.Has("bindingKey")) source.Error("bindingKey", "needs 'exchange' (the exchange to bind the queue to)");
        var prefetch = source.Int("prefetch", 1, ushort.MaxValue) ?? 64;
        return queue is null ? null : new AmqpSubscriptionOptions(queue, exchange, binding, (ushort)prefetch);
    }

    public IConnector Create(SystemDefinition system, ConnectorContext context) =>
        new AmqpConnector((AmqpSystemOptions)system.Settings!, system, context);

    public ISubscription CreateSubscription(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        new AmqpSubscription((AmqpSubscriptionOptions)source.Settings!, (AmqpSystemOptions)system.Settings!, system);

    public ISource CreateSource(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        throw new NotSupportedException("an amqp system is read by a subscription source (type: amqp), not polled");

    public string? CannotReconcile(FlowDefinition flow) => "an amqp target cannot be read back, so it cannot be reconciled";
}
