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

    /// <summary>Whether a flow to this type can be reconciled (it has a read operation); null if it can, else why not.</summary>
    string? CannotReconcile(FlowDefinition flow);
}
