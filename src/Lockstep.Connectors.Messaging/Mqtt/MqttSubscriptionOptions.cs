namespace Lockstep.Connectors.Messaging.Mqtt;

/// <summary>A QoS 1 subscription in a persistent session: the topic filter, the fixed client id and how long the broker keeps the session.</summary>
internal sealed record MqttSubscriptionOptions(string Topic, string ClientId, TimeSpan SessionExpiry);
