using Lockstep.Connectors.Messaging.Topics;

namespace Lockstep.Connectors.Messaging.Amqp;

/// <summary>The routing key a flow publishes with, e.g. <c>chat.{entity}.{key}</c>.</summary>
internal sealed record AmqpFlowOptions(TopicTemplate RoutingKey);
