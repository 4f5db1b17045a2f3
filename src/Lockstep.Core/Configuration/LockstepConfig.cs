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

    /// <summary>Two-way pairs (<c>sync:</c>): echo suppression and conflict policies between a source and a target system.</summary>
    public IReadOnlyList<Conflicts.SyncPair> Sync { get; init; } = [];

    /// <summary>API keys (<c>security.apiKeys</c>); none means the API is open (bind it to loopback).</summary>
    public IReadOnlyList<ApiKey> ApiKeys { get; init; } = [];

    /// <summary>Bearer tokens from the organisation's identity provider (<c>security.jwt</c>); null when not used.</summary>
    public JwtOptions? Jwt { get; init; }

    /// <summary>Dashboard sign-in through the identity provider (<c>security.oidc</c>); null when not used.</summary>
    public OidcOptions? Oidc { get; init; }

    /// <summary>Whether anything guards the API: with no keys, tokens or sign-in configured, it is open.</summary>
    public bool Secured => ApiKeys.Count > 0 || Jwt is not null || Oidc is not null;

    /// <summary>Admin notice channels (<c>notify:</c>).</summary>
    public IReadOnlyList<Notifications.NotifyChannel> Notify { get; init; } = [];

    /// <summary>How long the journal keeps history (<c>retention:</c>); null keeps everything.</summary>
    public Journal.RetentionPolicy? Retention { get; init; }

    /// <summary>Where traces go over OTLP (<c>telemetry.otlpEndpoint</c>); null means tracing is off.</summary>
    public Uri? OtlpEndpoint { get; init; }

    /// <summary><c>entities.NAME.sensitive</c>: per entity, the data fields stored only encrypted in the journal.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Sensitive { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>
    /// <c>security.journalKey</c> first, then <c>security.previousJournalKeys</c> (still read after a rotation); empty means
    /// a key file next to the journal is used (created on first start).
    /// </summary>
    public IReadOnlyList<Encryption.FieldKey> JournalKeys { get; init; } = [];

    /// <summary>Connector families besides the built-in ones that this config's systems use (code handlers, your own connectors).</summary>
    public IReadOnlyList<Connectors.IConnectorFactory> ExtraConnectors { get; init; } = [];
}
