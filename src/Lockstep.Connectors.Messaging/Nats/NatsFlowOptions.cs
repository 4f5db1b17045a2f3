using Lockstep.Connectors.Messaging.Topics;

namespace Lockstep.Connectors.Messaging.Nats;

/// <summary>The subject a flow publishes to, e.g. <c>chat.{entity}.{key}</c>.</summary>
internal sealed record NatsFlowOptions(TopicTemplate Subject);
