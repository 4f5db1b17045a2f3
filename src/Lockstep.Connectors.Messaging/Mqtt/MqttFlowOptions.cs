using Lockstep.Connectors.Messaging.Topics;

namespace Lockstep.Connectors.Messaging.Mqtt;

/// <summary>The topic a flow publishes to (e.g. <c>chat/{entity}/{key}</c>) and whether the broker retains the last message.</summary>
internal sealed record MqttFlowOptions(TopicTemplate Topic, bool Retain);
