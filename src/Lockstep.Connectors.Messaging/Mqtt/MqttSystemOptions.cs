namespace Lockstep.Connectors.Messaging.Mqtt;

/// <summary>An MQTT broker (MQTT 5) and the client id Lockstep publishes as; sources derive their own ids from it.</summary>
internal sealed record MqttSystemOptions(Uri Url, string ClientId);
