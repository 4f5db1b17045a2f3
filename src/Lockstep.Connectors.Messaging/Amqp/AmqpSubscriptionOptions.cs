namespace Lockstep.Connectors.Messaging.Amqp;

/// <summary>The durable queue a source consumes (bound to an exchange when given) and how many unacknowledged messages it may hold.</summary>
internal sealed record AmqpSubscriptionOptions(string Queue, string? Exchange, string BindingKey, ushort Prefetch);
