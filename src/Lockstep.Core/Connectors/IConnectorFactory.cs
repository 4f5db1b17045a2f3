using Lockstep.Configuration;

namespace Lockstep.Connectors;

/// <summary>
/// A connector family (<c>type: http</c>): validates its own system and flow keys at startup, then builds one connector per system.
/// </summary>
public interface IConnectorFactory
{
    string Type { get; }

    /// <summary>Keys a system of this type may have besides the common ones (type, concurrency, timeout, circuit).</summary>
    IReadOnlyCollection<string> SystemKeys { get; }

    /// <summary>Keys a flow to a system of this type may have besides the common ones (on, entity, to, filter, map, retry, headers).</summary>
    IReadOnlyCollection<string> FlowKeys { get; }

    object? BindSystem(ConfigSection system);

    object? BindFlow(ConfigSection flow, SystemDefinition system);

    IConnector Create(SystemDefinition system, ConnectorContext context);

    /// <summary>A poll source reading from a system of this type.</summary>
    Sources.ISource CreateSource(Sources.SourceDefinition source, SystemDefinition system, ConnectorContext context);

    /// <summary>Keys a broker subscription source (<c>sources.NAME: {type: THIS, from: SYSTEM}</c>) may have besides the shape keys; empty when this family has none.</summary>
    IReadOnlyCollection<string> SubscriptionKeys => [];

    /// <summary>Validates a subscription source's own keys (subject, queue, topic, consumer, prefetch); null when invalid.</summary>
    object? BindSubscription(ConfigSection source, SystemDefinition system) => null;

    /// <summary>A long-running consumer reading from a system of this type.</summary>
    Sources.ISubscription CreateSubscription(Sources.SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        throw new NotSupportedException($"a {Type} system has no subscription sources");

    /// <summary>Whether a flow to this type can be reconciled (it has a read operation); null if it can, else why not.</summary>
    string? CannotReconcile(FlowDefinition flow);

    /// <summary>Whether a flow to this type lists the target's records (a <c>list</c> operation), so reconciliation can find extras.</summary>
    bool Lists(FlowDefinition flow) => false;
}
