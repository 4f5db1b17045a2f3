using Lockstep.Connectors;
using Lockstep.Sources;

namespace Lockstep.Configuration;

public sealed partial class ConfigLoader
{
    private static readonly string[] SubscriptionShapeKeys = ["type", "from", "entity", "key", "version", "tombstone", "map", "eventType"];

    private string SourceTypes() =>
        string.Join(", ", new[] { "http-poll", "sql-poll", "webhook" }.Concat(_factories.Values.Where(f => f.SubscriptionKeys.Count > 0).Select(f => f.Type)));

    /// <summary>A broker subscription (<c>type: nats|amqp|mqtt</c>): the shape keys here, the broker's own keys by its connector family.</summary>
    private static SourceDefinition? ReadSubscription(string name, ConfigSection source, IConnectorFactory factory, Dictionary<string, SystemDefinition> systems, MappingLimits limits)
    {
        source.CheckKeys(SubscriptionShapeKeys.Concat(factory.SubscriptionKeys));
        var from = source.String("from", required: true);
        SystemDefinition? system = null;
        if (from is not null && (!systems.TryGetValue(from, out system) || system.Type != factory.Type))
        {
            source.Error("from", system is not null ? $"system '{from}' is not a {factory.Type} system" : $"unknown system '{from}'");
            system = null;
        }
        var shape = ReadShape(name, source, limits, needsKey: false);
        if (shape.Map is null && (shape.Entity is null || shape.KeyField is null))
            source.Error("needs a 'map' returning {entity, key, version, data}, or 'entity' and 'key'");
        var settings = system is null ? null : factory.BindSubscription(source, system);
        if (system is null || settings is null) return null;
        return new SourceDefinition(name, SourceKind.Subscription, from, null, null, TimeSpan.Zero, 1, shape, null, source.Line) { Settings = settings };
    }
}
