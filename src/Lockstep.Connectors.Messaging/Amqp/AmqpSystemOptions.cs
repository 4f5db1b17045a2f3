namespace Lockstep.Connectors.Messaging.Amqp;

/// <summary>A RabbitMQ (AMQP 0-9-1) broker and the exchange flows publish to ("" is the default exchange).</summary>
internal sealed record AmqpSystemOptions(Uri Url, string Exchange, string ExchangeType);
