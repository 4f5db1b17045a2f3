using Lockstep.Configuration;
using Lockstep.Connectors.Messaging.Topics;
using Lockstep.Sources;

namespace Lockstep.Connectors.Messaging.Mqtt;

/// <summary>
/// <c>type: mqtt</c>: an MQTT 5 broker. As a target, QoS 1 publishes (retained when asked) with the idempotency key in the
/// user property <c>lockstep-id</c>; as a source, a QoS 1 subscription in a persistent session acknowledged after the commit.
/// </summary>
public sealed class MqttConnectorFactory : IConnectorFactory
{
    public string Type => "mqtt";

    public IReadOnlyCollection<string> SystemKeys { get; } = ["url", "clientId"];

    public IReadOnlyCollection<string> FlowKeys { get; } = ["topic", "retain"];

    public IReadOnlyCollection<string> SubscriptionKeys { get; } = ["topic", "clientId", "sessionExpiry"];

    public object? BindSystem(ConfigSection system)
    {
        var url = BrokerUrl.Read(system, "url", "mqtt", "mqtts");
        var clientId = system.String("clientId") ?? "lockstep-" + system.Path.Split('.')[^1];
        return url is null ? null : new MqttSystemOptions(url, clientId);
    }

    public object? BindFlow(ConfigSection flow, SystemDefinition system)
    {
        var topic = TopicTemplate.Read(flow, "topic", TopicTemplate.Replacing("/+#"));
        var retain = flow.Bool("retain") ?? false;
        if (topic is not null && (topic.ToString().Contains('+', StringComparison.Ordinal) || topic.ToString().Contains('#', StringComparison.Ordinal)))
        {
            flow.Error("topic", "must not contain wildcards (+, #): a message is published to one topic");
            return null;
        }
        return topic is null ? null : new MqttFlowOptions(topic, retain);
    }

    public object? BindSubscription(ConfigSection source, SystemDefinition system)
    {
        var topic = source.String("topic", required: true);
        var clientId = source.String("clientId") ?? $"{(system.Settings as MqttSystemOptions)?.ClientId ?? "lockstep"}-{source.Path.Split('.')[^1]}";
        var expiry = source.Duration("sessionExpiry", TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(uint.MaxValue - 1)) ?? TimeSpan.FromDays(7);
        return topic is null ? null : new MqttSubscriptionOptions(topic, clientId, expiry);
    }

    public IConnector Create(SystemDefinition system, ConnectorContext context) =>
        new MqttConnector((MqttSystemOptions)system.Settings!, system, context);

    public ISubscription CreateSubscription(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        new MqttSubscription((MqttSubscriptionOptions)source.Settings!, (MqttSystemOptions)system.Settings!, system);

    public ISource CreateSource(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        throw new NotSupportedException("an mqtt system is read by a subscription source (type: mqtt), not polled");

    public string? CannotReconcile(FlowDefinition flow) => "an mqtt target cannot be read back, so it cannot be reconciled";
}
