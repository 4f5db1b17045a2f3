namespace Lockstep.Configuration;

/// <summary>A loaded, valid configuration: what <c>lockstep validate</c> approves and <c>lockstep run</c> runs.</summary>
public sealed record LockstepConfig(
    string File,
    string Storage,
    IReadOnlyDictionary<string, SystemDefinition> Systems,
    IReadOnlyList<FlowDefinition> Flows,
    ServerOptions Server,
    DeliveryOptions Delivery,
    MappingLimits Mapping,
    SecretRedactor Secrets)
{
    /// <summary>Where changes come from besides the publish API.</summary>
    public IReadOnlyList<Sources.SourceDefinition> Sources { get; init; } = [];

    /// <summary>Engine schedules (<c>schedules:</c>): a flow or source synced on an interval or cron.</summary>
    public IReadOnlyList<Scheduling.ScheduleDefinition> Schedules { get; init; } = [];

    /// <summary>API keys (<c>security.apiKeys</c>); none means the API is open (bind it to loopback).</summary>
    public IReadOnlyList<ApiKey> ApiKeys { get; init; } = [];

    /// <summary>Admin notice channels (<c>notify:</c>).</summary>
    public IReadOnlyList<Notifications.NotifyChannel> Notify { get; init; } = [];

    /// <summary>How long the journal keeps history (<c>retention:</c>); null keeps everything.</summary>
    public Journal.RetentionPolicy? Retention { get; init; }

    /// <summary>Where traces go over OTLP (<c>telemetry.otlpEndpoint</c>); null means tracing is off.</summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary>The SQLite file for <c>storage: sqlite:PATH</c>, resolved against the config file's folder.</summary>
    public string? SqlitePath
    {
        get
        {
            if (!Storage.StartsWith("sqlite:", StringComparison.Ordinal)) return null;
            var path = Storage["sqlite:".Length..];
            return System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(File)) ?? ".", path));
        }
    }
}
