using System.Security.Cryptography;
using Lockstep.Connectors;
using Lockstep.Deliveries;
using Lockstep.Mapping;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Lockstep.Configuration;

/// <summary>
/// Reads the one YAML file into a <see cref="LockstepConfig"/>, or fails with every problem at once, each naming file,
/// line and key path. <c>lockstep validate</c> and <c>lockstep run</c> both come through here.
/// </summary>
public sealed partial class ConfigLoader(IEnumerable<IConnectorFactory> factories, Func<string, string?>? environment = null)
{
    private static readonly string[] TopKeys = ["storage", "systems", "flows", "sources", "schedules", "security", "notify", "telemetry", "server", "delivery", "mapping", "entities", "sync", "retention"];
    private static readonly string[] LaterTopKeys = ["security", "notify", "encryption"];
    private static readonly string[] SystemKeys = ["type", "concurrency", "timeout", "circuit", "rateLimit"];
    private static readonly string[] FlowKeys = ["on", "entity", "to", "filter", "map", "retry", "headers", "reconcile", "encrypt"];
    private static readonly string[] LaterFlowKeys = ["list", "batch", "batchSize", "linger", "rateLimit"];

    private readonly Dictionary<string, IConnectorFactory> _factories =
        factories.ToDictionary(f => f.Type, StringComparer.Ordinal);

    private readonly Func<string, string?> _environment = environment ?? Environment.GetEnvironmentVariable;

    public LockstepConfig Load(string path)
    {
        string text;
        try
        {
            text = System.IO.File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([new ConfigError(path, 0, "", $"cannot read the config file: {e.Message}")]);
        }
        return Parse(text, path);
    }

    public LockstepConfig Parse(string text, string file)
    {
        var context = new ConfigContext(file, _environment, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        var stream = new YamlStream();
        var prepared = ConfigText.Prepare(text, context);
        try
        {
            stream.Load(new StringReader(prepared));
        }
        catch (YamlException e)
        {
            var message = e.InnerException?.Message ?? e.Message;
            throw new ConfigException([new ConfigError(file, (int)e.Start.Line, "", $"invalid YAML: {StripLocation(message)}")]);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner fails this way on some unterminated flow collections; locate it by the last event read.
            throw new ConfigException([new ConfigError(file, LastGoodLine(prepared), "", "invalid YAML: an unterminated [list] or {mapping} near here")]);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode rootNode)
            throw new ConfigException([new ConfigError(file, 1, "", "the config must be a YAML mapping with 'systems' and 'flows'")]);

        var root = new ConfigSection(rootNode, "", context);
        root.CheckKeys(TopKeys, LaterTopKeys);

        var storage = root.String("storage") ?? "sqlite:data/lockstep.db";
        if (storage.StartsWith("postgres:", StringComparison.Ordinal))
        {
            // The value is a connection string with a password: never echoed in an error.
            if (storage.Length == "postgres:".Length) root.Error("storage", "postgres: needs a connection string or URL (postgres:${LOCKSTEP_DB})");
        }
        else if (!storage.StartsWith("sqlite:", StringComparison.Ordinal) || storage.Length == "sqlite:".Length)
        {
            root.Error("storage", storage.StartsWith("postgres", StringComparison.Ordinal)
                ? "write postgres:CONNECTION (an Npgsql connection string or a postgres:// URL, e.g. postgres:${LOCKSTEP_DB})"
                : $"'{storage}' is not a storage (write sqlite:PATH, e.g. sqlite:data/lockstep.db, or postgres:CONNECTION)");
        }

        var systems = ReadSystems(root);
        var mapping = ReadMapping(root.Section("mapping"));
        var flows = ReadFlows(root, systems, mapping);
        var sources = ReadSources(root, systems, mapping);
        var schedules = ReadSchedules(root, flows, sources);
        var sync = ReadSync(root, flows, sources);
        var apiKeys = ReadApiKeys(root.Section("security"));
        var jwt = ReadJwt(root.Section("security"));
        var oidc = ReadOidc(root.Section("security"));
        var (sensitive, journalKeys) = ReadEntities(root.Section("entities"), root.Section("security"));
        var notify = ReadNotify(root.Section("notify"));
        Uri? otlp = null;
        if (root.Section("telemetry") is { } telemetry)
        {
            telemetry.CheckKeys(["otlpEndpoint"]);
            otlp = telemetry.HttpUrl("otlpEndpoint");
        }
        var server = ReadServer(root.Section("server"));
        var delivery = ReadDelivery(root.Section("delivery"));
        var retention = ReadRetention(root.Section("retention"));

        foreach (var pair in sync.Where(p => p.Entities.Any(sensitive.ContainsKey)))
            root.Section("sync")?.Section(pair.Name)?.Error("entities with sensitive fields (entities.*.sensitive) in a two-way pair are not supported yet");
        if (context.Errors.Count > 0) throw new ConfigException(context.Errors.OrderBy(e => e.Line).ToList());
        return new LockstepConfig(file, storage, systems, flows, server, delivery, mapping, context.Secrets) { Sources = sources, Schedules = schedules, Sync = sync, ApiKeys = apiKeys, Jwt = jwt, Oidc = oidc, Notify = notify, OtlpEndpoint = otlp, Sensitive = sensitive, JournalKeys = journalKeys, Retention = retention };
    }

    private Dictionary<string, SystemDefinition> ReadSystems(ConfigSection root)
    {
        var systems = new Dictionary<string, SystemDefinition>(StringComparer.Ordinal);
        var section = root.Section("systems", required: true);
        if (section is null) return systems;
        foreach (var (name, system) in section.Entries())
        {
            var type = system.String("type", required: true);
            if (type is null) continue;
            if (!_factories.TryGetValue(type, out var factory))
            {
                system.Error("type", $"unknown system type '{type}' (supported: {string.Join(", ", _factories.Keys.Order(StringComparer.Ordinal))})");
                continue;
            }
            system.CheckKeys(SystemKeys.Concat(factory.SystemKeys));
            var concurrency = system.Int("concurrency", 1, 1024) ?? 8;
            var timeout = system.Duration("timeout", TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1)) ?? TimeSpan.FromSeconds(30);
            var circuit = ReadCircuit(system.Section("circuit"));
            var settings = factory.BindSystem(system);
            systems[name] = new SystemDefinition(name, type, concurrency, timeout, circuit, settings, system.Line) { RateLimit = ReadRateLimit(system.Section("rateLimit")) };
        }
        return systems;
    }

    private static RateLimitOptions? ReadRateLimit(ConfigSection? section)
    {
        if (section is null) return null;
        section.CheckKeys(["requests", "per"]);
        var requests = section.Int("requests", 1, 1_000_000);
        var per = section.Duration("per", TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(1));
        if (!section.Has("requests")) section.Error("requests", "is required (e.g. rateLimit: { requests: 100, per: 1s })");
        if (!section.Has("per")) section.Error("per", "is required (e.g. rateLimit: { requests: 100, per: 1s })");
        return requests is { } r && per is { } p ? new RateLimitOptions(r, p) : null;
    }

    private static CircuitOptions ReadCircuit(ConfigSection? section)
    {
        var d = CircuitOptions.Default;
        if (section is null) return d;
        section.CheckKeys(["failureRatio", "minimumThroughput", "samplingDuration", "breakDuration", "maxBreakDuration"]);
        var breakDuration = section.Duration("breakDuration", TimeSpan.FromMilliseconds(500), TimeSpan.FromDays(1)) ?? d.BreakDuration;
        var maxBreak = section.Duration("maxBreakDuration", TimeSpan.FromMilliseconds(500), TimeSpan.FromDays(1)) ?? d.MaxBreakDuration;
        if (maxBreak < breakDuration) section.Error("maxBreakDuration", $"{Durations.Format(maxBreak)} must be >= breakDuration ({Durations.Format(breakDuration)})");
        return new CircuitOptions(
            section.Double("failureRatio", 0.01, 1) ?? d.FailureRatio,
            section.Int("minimumThroughput", 2, 100_000) ?? d.MinimumThroughput,
            section.Duration("samplingDuration", TimeSpan.FromMilliseconds(500), TimeSpan.FromDays(1)) ?? d.SamplingDuration,
            breakDuration,
            maxBreak);
    }

    private List<FlowDefinition> ReadFlows(ConfigSection root, Dictionary<string, SystemDefinition> systems, MappingLimits limits)
    {
        var flows = new List<FlowDefinition>();
        var section = root.Section("flows", required: true);
        if (section is null) return flows;
        foreach (var (name, flow) in section.Entries())
        {
            var to = flow.String("to", required: true);
            SystemDefinition? system = null;
            if (to is not null && !systems.TryGetValue(to, out system) && !SystemFailedToLoad(root, to))
                flow.Error("to", $"unknown system '{to}'" + (systems.Count > 0 ? $" (systems: {string.Join(", ", systems.Keys)})" : ""));
            var factory = system is null ? null : _factories[system.Type];
            // Without a valid system the connector's keys are unknown: accept any connector's, report the system instead.
            flow.CheckKeys(FlowKeys.Concat(factory?.FlowKeys ?? _factories.Values.SelectMany(f => f.FlowKeys)), LaterFlowKeys);

            var types = flow.StringList("on").ToHashSet(StringComparer.Ordinal);
            var entities = flow.StringList("entity").ToHashSet(StringComparer.Ordinal);
            if (types.Count == 0 && entities.Count == 0) flow.Error("needs 'on' (event types) or 'entity' to say which events it takes");

            var map = Script(flow, "map", limits);
            var filter = Script(flow, "filter", limits);
            var retry = ReadRetry(flow.Section("retry"));
            var headers = flow.StringMap("headers");
            var reconcile = ReadReconcile(flow);
            var encrypt = ReadEncrypt(flow.Section("encrypt"));
            var settings = system is null ? null : factory!.BindFlow(flow, system);
            if (to is null || system is null) continue;
            var definition = new FlowDefinition(name, to, types, entities, filter, map, retry, headers, settings, flow.Line) { Reconcile = reconcile, Encrypt = encrypt };
            if (reconcile is not null && settings is not null)
            {
                if (factory!.CannotReconcile(definition) is { } why) flow.Error("reconcile", why);
                var lists = factory.Lists(definition);
                if (reconcile.DeleteExtra && !lists)
                    flow.Section("reconcile")!.Error("deleteExtra", "finding extras needs a 'list' operation on the flow (e.g. list: GET /api/records?page={page} with listKey: id)");
                definition = definition with { Reconcile = reconcile with { List = lists } };
            }
            flows.Add(definition);
        }
        return flows;
    }

    private static bool SystemFailedToLoad(ConfigSection root, string name) =>
        root.Section("systems")?.Has(name) == true;

    private static string? Script(ConfigSection flow, string key, MappingLimits limits)
    {
        var source = flow.RawScript(key);
        if (source is null) return null;
        if (ScriptCheck.Check(source, limits) is { } problem)
        {
            // A block scalar (map: |) starts on the line after its key.
            var blockOffset = flow.LineOf(key) is var keyLine && source.Contains('\n', StringComparison.Ordinal) ? 1 : 0;
            flow.Context.Error(flow.LineOf(key) + blockOffset + Math.Max(problem.Line - 1, 0), flow.Child(key), problem.Message);
        }
        return source;
    }

    private static RetryPolicy ReadRetry(ConfigSection? section)
    {
        var d = RetryPolicy.Default;
        if (section is null) return d;
        section.CheckKeys(["maxAttempts", "initialDelay", "maxDelay", "maxRetryAfter"]);
        var maxAttempts = section.Int("maxAttempts", 1, 1_000_000) ?? d.MaxAttempts;
        var initial = section.Duration("initialDelay", TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(1)) ?? d.InitialDelay;
        var max = section.Duration("maxDelay", TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(7)) ?? (d.MaxDelay < initial ? initial : d.MaxDelay);
        var maxRetryAfter = section.Duration("maxRetryAfter", TimeSpan.Zero, TimeSpan.FromDays(7)) ?? d.MaxRetryAfter;
        if (max < initial)
            section.Error("maxDelay", $"({Durations.Format(max)}) must be >= retry.initialDelay ({Durations.Format(initial)})");
        return new RetryPolicy(maxAttempts, initial, max, maxRetryAfter);
    }

    private static MappingLimits ReadMapping(ConfigSection? section)
    {
        var d = MappingLimits.Default;
        if (section is null) return d;
        section.CheckKeys(["timeout", "memoryLimit", "recursionLimit"]);
        return new MappingLimits(
            section.Duration("timeout", TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1)) ?? d.Timeout,
            section.Size("memoryLimit", 64 * 1024, 1024L * 1024 * 1024) ?? d.MemoryBytes,
            section.Int("recursionLimit", 1, 10_000) ?? d.RecursionDepth);
    }

    private static ServerOptions ReadServer(ConfigSection? section)
    {
        var d = ServerOptions.Default;
        if (section is null) return d;
        section.CheckKeys(["urls", "maxBodySize", "intakeRateLimit", "tls"]);
        int? perSecond = null;
        var burst = 0;
        if (section.Section("intakeRateLimit") is { } limit)
        {
            limit.CheckKeys(["requestsPerSecond", "burst"]);
            perSecond = limit.Int("requestsPerSecond", 1, 1_000_000) ?? 100;
            burst = limit.Int("burst", 1, 10_000_000) ?? perSecond.Value * 2;
        }
        return new ServerOptions(section.String("urls"), section.Size("maxBodySize", 1024, 1024L * 1024 * 1024) ?? d.MaxBodyBytes, perSecond, burst)
        {
            Tls = ReadTls(section.Section("tls")),
        };
    }

    private static ServerTls? ReadTls(ConfigSection? section)
    {
        if (section is null) return null;
        section.CheckKeys(["certificate", "key", "password"]);
        var folder = Path.GetDirectoryName(Path.GetFullPath(section.Context.File)) ?? ".";
        string? Existing(string key, bool required)
        {
            var text = section.String(key, required);
            if (text is null) return null;
            var path = Path.IsPathRooted(text) ? text : Path.GetFullPath(Path.Combine(folder, text));
            if (File.Exists(path)) return path;
            section.Error(key, $"file '{path}' does not exist");
            return null;
        }
        var certificate = Existing("certificate", required: true);
        var key = Existing("key", required: false);
        var password = section.SecretValue("password");
        var pfx = certificate is not null && (certificate.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || certificate.EndsWith(".p12", StringComparison.OrdinalIgnoreCase));
        if (certificate is not null && !pfx && key is null && !section.Has("key")) section.Error("key", "is required with a PEM certificate (or give a .pfx/.p12 file as certificate)");
        if (pfx && section.Has("key")) section.Error("key", "is not used with a .pfx/.p12 certificate (it holds the key; use password if it has one)");
        return certificate is null || (!pfx && key is null) ? null : new ServerTls(certificate, pfx ? null : key, password);
    }

    private static Journal.RetentionPolicy? ReadRetention(ConfigSection? section)
    {
        if (section is null) return null;
        section.CheckKeys(["events", "attempts", "audit", "every"]);
        var day = TimeSpan.FromDays(1);
        return new Journal.RetentionPolicy(
            section.Duration("events", day, TimeSpan.FromDays(100 * 365)),
            section.Duration("attempts", day, TimeSpan.FromDays(100 * 365)),
            section.Duration("audit", day, TimeSpan.FromDays(100 * 365)),
            section.Duration("every", TimeSpan.FromMinutes(1), day) ?? TimeSpan.FromHours(1));
    }

    private static DeliveryOptions ReadDelivery(ConfigSection? section)
    {
        var d = DeliveryOptions.Default;
        if (section is null) return d;
        section.CheckKeys(["batchSize", "completionEvents"]);
        return new DeliveryOptions(section.Int("batchSize", 1, 10_000) ?? d.BatchSize, section.Bool("completionEvents") ?? d.CompletionEvents);
    }

    private static int LastGoodLine(string text)
    {
        var parser = new Parser(new StringReader(text));
        var line = 1;
        try
        {
            while (parser.MoveNext()) line = (int)parser.Current!.End.Line;
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException)
        {
            // Expected: this is the failure being located.
        }
        return line;
    }

    private static List<Notifications.NotifyChannel> ReadNotify(ConfigSection? section)
    {
        var channels = new List<Notifications.NotifyChannel>();
        if (section is null) return channels;
        foreach (var (name, channel) in section.Entries())
        {
            var type = channel.String("type", required: true);
            if (type is not null and not "webhook" and not "email")
            {
                channel.Error("type", $"unknown channel type '{type}' (supported: webhook, email)");
                continue;
            }
            channel.CheckKeys(type == "email" ? ["type", "smtp", "from", "to", "on", "window", "driftAbove"] : ["type", "url", "secret", "secrets", "on", "window", "driftAbove"]);
            var kinds = new HashSet<Notifications.NoticeKind>();
            foreach (var on in channel.StringList("on"))
            {
                Notifications.NoticeKind? kind = on switch
                {
                    "dead" => Notifications.NoticeKind.Dead,
                    "circuit" => Notifications.NoticeKind.Circuit,
                    "drift" => Notifications.NoticeKind.Drift,
                    "source" => Notifications.NoticeKind.Source,
                    "conflict" => Notifications.NoticeKind.Conflict,
                    "journal" => Notifications.NoticeKind.Journal,
                    _ => null,
                };
                if (kind is null) channel.Error("on", $"'{on}' is not a notice kind (dead, circuit, drift, source, conflict, journal)");
                else kinds.Add(kind.Value);
            }
            if (kinds.Count == 0 && !channel.Has("on")) kinds = [.. Enum.GetValues<Notifications.NoticeKind>()];
            var window = channel.Duration("window", TimeSpan.FromSeconds(1), TimeSpan.FromDays(1)) ?? TimeSpan.FromMinutes(1);
            object? settings = type == "email" ? ReadEmail(channel) : ReadWebhookChannel(channel);
            if (type is null || settings is null) continue;
            var driftAbove = channel.Int("driftAbove", 0, int.MaxValue) ?? 0;
            channels.Add(new Notifications.NotifyChannel(name, type, kinds, window, settings, driftAbove));
        }
        return channels;
    }

    private static Notifications.WebhookChannelSettings? ReadWebhookChannel(ConfigSection channel)
    {
        var endpoint = channel.HttpUrl("url", required: true);
        var secrets = channel.WebhookSecrets("secret", "secrets");
        if (secrets.Count == 0 && !channel.Has("secret") && !channel.Has("secrets")) channel.Error("needs 'secret' (whsec_...) to sign notices with");
        return endpoint is null || secrets.Count == 0 ? null : new Notifications.WebhookChannelSettings(endpoint, secrets);
    }

    private static Notifications.EmailChannelSettings? ReadEmail(ConfigSection channel)
    {
        var smtp = channel.Section("smtp", required: true);
        var from = channel.String("from", required: true);
        var to = channel.StringList("to");
        if (to.Count == 0) channel.Error("to", "is required: the addresses notices go to, e.g. [ops@example.org]");
        foreach (var address in to.Append(from).OfType<string>().Where(a => !MimeAddress().IsMatch(a)))
            channel.Error(address == from ? "from" : "to", $"'{address}' is not an email address");
        if (smtp is null) return null;
        smtp.CheckKeys(["host", "port", "user", "password", "tls"]);
        var host = smtp.String("host", required: true);
        var tlsText = smtp.String("tls") ?? "starttls";
        Notifications.SmtpSecurity? security = tlsText switch
        {
            "none" => Notifications.SmtpSecurity.None,
            "starttls" => Notifications.SmtpSecurity.StartTls,
            "tls" => Notifications.SmtpSecurity.Tls,
            _ => null,
        };
        if (security is null) smtp.Error("tls", $"'{tlsText}' is not one of none, starttls, tls");
        var port = smtp.Int("port", 1, 65535) ?? (security == Notifications.SmtpSecurity.Tls ? 465 : 587);
        var user = smtp.String("user");
        var password = smtp.SecretValue("password");
        if (password is not null && user is null) smtp.Error("user", "is required with 'password'");
        if (host is null || from is null || to.Count == 0 || security is null) return null;
        return new Notifications.EmailChannelSettings(host, port, user, password, security.Value, from, to);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^[^@\s<>]+@[^@\s<>]+$")]
    private static partial System.Text.RegularExpressions.Regex MimeAddress();

    private static Encryption.EncryptOptions? ReadEncrypt(ConfigSection? section)
    {
        if (section is null) return null;
        section.CheckKeys(["fields", "key", "keyId"]);
        var fields = section.StringList("fields");
        if (fields.Count == 0) section.Error("fields", "is required: the mapped fields to encrypt, e.g. [recipient.phone]");
        var key = section.SecretValue("key", required: true);
        var keyId = section.String("keyId", required: true);
        byte[]? bytes = null;
        if (key is not null)
        {
            var buffer = new byte[64];
            if (!Convert.TryFromBase64String(key.Reveal(), buffer, out var length) || length != 32)
                section.Error("key", "must be 32 random bytes in base64 (e.g. openssl rand -base64 32)");
            else bytes = buffer[..32];
        }
        return bytes is null || keyId is null || fields.Count == 0 ? null : new Encryption.EncryptOptions(fields, new Encryption.FieldKey(keyId, bytes));
    }

    private static List<ApiKey> ReadApiKeys(ConfigSection? security)
    {
        var keys = new List<ApiKey>();
        if (security is null) return keys;
        security.CheckKeys(["apiKeys", "journalKey", "previousJournalKeys", "jwt", "oidc"], ["tls", "cors", "rateLimit"]);
        if (security.Items("apiKeys") is not { } items) return keys;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            item.CheckKeys(["name", "role", "key"]);
            var name = item.String("name", required: true);
            var roleText = item.String("role", required: true);
            var key = item.SecretValue("key", required: true);
            ApiRole? role = roleText switch
            {
                "publisher" => ApiRole.Publisher,
                "viewer" => ApiRole.Viewer,
                "operator" => ApiRole.Operator,
                _ => null,
            };
            if (roleText is not null && role is null) item.Error("role", $"'{roleText}' is not a role (publisher, viewer, operator)");
            if (key is not null && key.Reveal().Length < 16) item.Error("key", "must be at least 16 characters");
            if (name is not null && !names.Add(name)) item.Error("name", $"'{name}' is used twice");
            if (name is null || role is null || key is null) continue;
            keys.Add(new ApiKey(name, role.Value, System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key.Reveal()))));
        }
        return keys;
    }

    private static string StripLocation(string message)
    {
        var paren = message.IndexOf("(Line:", StringComparison.Ordinal);
        return (paren > 0 ? message[..paren] : message).Trim();
    }
}
