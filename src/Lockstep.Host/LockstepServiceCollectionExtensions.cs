using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Connectors.Http;
using Lockstep.Engines;
using Lockstep.Journal;
using Lockstep.Sources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Lockstep.Host;

/// <summary>The one composition root: config becomes a journal, connectors and an engine here, for the CLI and embedding apps alike.</summary>
public static class LockstepServiceCollectionExtensions
{
    /// <summary>The connector families this build ships.</summary>
    public static IReadOnlyList<IConnectorFactory> ConnectorFactories { get; } = [new HttpConnectorFactory(), new Connectors.Http.Webhooks.WebhookConnectorFactory(), new Connectors.Http.Files.FileConnectorFactory(),
        new Connectors.Http.Soap.SoapConnectorFactory(), new Connectors.Http.GoogleCalendar.GoogleCalendarConnectorFactory(),
        Connectors.Sql.SqlConnectorFactory.Postgres, Connectors.Sql.SqlConnectorFactory.Sqlite, Connectors.Sql.SqlConnectorFactory.MySql, new Connectors.CalDav.CalDavConnectorFactory(),
        new Connectors.Messaging.Nats.NatsConnectorFactory(), new Connectors.Messaging.Amqp.AmqpConnectorFactory(),
        new Connectors.Messaging.Mqtt.MqttConnectorFactory()];

    /// <summary>Loads and validates the YAML file (throws <see cref="ConfigException"/> listing every error) and registers the engine.</summary>
    /// <param name="extraFactories">
    /// Connector families of your own besides the built-in ones (see docs/connectors.md): systems of their <c>type:</c>
    /// are validated and run like any other. A type the build already ships cannot be replaced.
    /// </param>
    public static IServiceCollection AddLockstep(this IServiceCollection services, string configPath, params IConnectorFactory[] extraFactories)
    {
        var twice = ConnectorFactories.Concat(extraFactories).GroupBy(f => f.Type, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (twice.Count > 0)
            throw new ArgumentException($"connector type '{string.Join("', '", twice)}' is registered twice (a built-in type cannot be replaced)", nameof(extraFactories));
        var config = new ConfigLoader(ConnectorFactories.Concat(extraFactories)).Load(configPath);
        return services.AddLockstep(config with { ExtraConnectors = [.. config.ExtraConnectors, .. extraFactories] });
    }

    /// <summary>
    /// Lockstep configured in code (see <see cref="Fluent.LockstepBuilder"/>); relative paths resolve against
    /// <paramref name="folder"/> (the current directory by default).
    /// </summary>
    public static IServiceCollection AddLockstep(this IServiceCollection services, Action<Fluent.LockstepBuilder> configure, string? folder = null)
    {
        var builder = new Fluent.LockstepBuilder();
        configure(builder);
        return services.AddLockstep(builder.Build(folder ?? Directory.GetCurrentDirectory()));
    }

    /// <param name="extraFactories">Connector families besides the built-in ones (your own connectors, code handlers).</param>
    public static IServiceCollection AddLockstep(this IServiceCollection services, LockstepConfig config, IEnumerable<IConnectorFactory>? extraFactories = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(config);
        // The API's endpoints require the role policies: an application mapping them (MapLockstepApi) gets the
        // authentication and authorization they need, and WebApplication adds their middleware by itself.
        Security.LockstepAuthentication.AddLockstepAuthentication(services, config);
        services.UseSqlite();
        services.UsePostgres();
        services.AddSingleton(sp =>
        {
            var scheme = config.Storage.Split(':', 2)[0];
            var provider = sp.GetServices<IJournalProvider>().LastOrDefault(p => string.Equals(p.Scheme, scheme, StringComparison.Ordinal))
                ?? throw new InvalidOperationException($"storage '{scheme}:' is not supported yet (this build stores in sqlite:PATH or postgres:CONNECTION)");
            return provider.Create(config, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            var logging = sp.GetRequiredService<ILoggerFactory>();
            var journal = sp.GetRequiredService<IJournal>();
            var context = new ConnectorContext(time, logging, config.Secrets) { Identities = journal.Identities };
            var factories = ConnectorFactories.Concat(config.ExtraConnectors).Concat(extraFactories ?? []).ToDictionary(f => f.Type, StringComparer.Ordinal);
            var connectors = config.Systems.Values.ToDictionary(s => s.Name, s => factories[s.Type].Create(s, context), StringComparer.Ordinal);
            var sources = CreateSources(config, context);
            return new LockstepEngine(config, journal, connectors, sources, time, logging, CreateNotifiers(config, context), CreateSubscriptions(config, context));
        });
        services.AddSingleton(sp => sp.GetRequiredService<IJournal>().Queries);
        services.AddSingleton(sp => new Metrics.LockstepMetrics(sp.GetRequiredService<LockstepEngine>()));
        services.AddHostedService<EngineService>();
        if (config.OtlpEndpoint is { } otlp)
        {
            services.AddOpenTelemetry()
                .ConfigureResource(r => r.AddService("lockstep"))
                .WithTracing(t => t.AddSource(Telemetry.LockstepActivities.SourceName).AddOtlpExporter(o => o.Endpoint = otlp));
        }
        return services;
    }

    /// <summary>The admin notice channels of a config.</summary>
    public static Dictionary<string, Notifications.INotifier> CreateNotifiers(LockstepConfig config, ConnectorContext context) =>
        config.Notify.ToDictionary(c => c.Name, c => c.Settings switch
        {
            Notifications.EmailChannelSettings email => (Notifications.INotifier)new Connectors.Email.EmailNotifier(email, context),
            Notifications.WebhookChannelSettings webhook => new Connectors.Http.Webhooks.WebhookNotifier(webhook, context),
            _ => throw new InvalidOperationException($"notify.{c.Name}: channel type '{c.Type}' is not supported yet"),
        }, StringComparer.Ordinal);

    /// <summary>The broker subscription sources of a config, each built by the connector family of the system it consumes from.</summary>
    public static Dictionary<string, ISubscription> CreateSubscriptions(LockstepConfig config, ConnectorContext context)
    {
        var factories = ConnectorFactories.ToDictionary(f => f.Type, StringComparer.Ordinal);
        return config.Sources.Where(s => s.Kind == SourceKind.Subscription).ToDictionary(
            s => s.Name, s => factories[config.Systems[s.System!].Type].CreateSubscription(s, config.Systems[s.System!], context), StringComparer.Ordinal);
    }

    /// <summary>The poll sources of a config, each built by the connector family of the system it reads from.</summary>
    public static Dictionary<string, ISource> CreateSources(LockstepConfig config, ConnectorContext context)
    {
        var factories = ConnectorFactories.ToDictionary(f => f.Type, StringComparer.Ordinal);
        return config.Sources.Where(s => s.Kind is SourceKind.HttpPoll or SourceKind.SqlPoll).ToDictionary(
            s => s.Name, s => factories[config.Systems[s.System!].Type].CreateSource(s, config.Systems[s.System!], context), StringComparer.Ordinal);
    }
}
