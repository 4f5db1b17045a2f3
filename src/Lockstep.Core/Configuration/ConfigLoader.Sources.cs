using Cronos;
using Lockstep.Reconciliation;
using Lockstep.Scheduling;
using Lockstep.Sources;

namespace Lockstep.Configuration;

public sealed partial class ConfigLoader
{
    private static readonly string[] PollKeys = ["type", "from", "get", "interval", "cron", "timeZone", "jitter", "entity", "key", "version", "cursor", "overlap", "tombstone", "map", "eventType", "maxPages", "vanished"];
    private static readonly string[] SqlPollKeys = ["type", "from", "table", "query", "pageSize", "interval", "cron", "timeZone", "jitter", "entity", "key", "version", "cursor", "overlap", "tombstone", "map", "eventType", "maxPages"];
    private static readonly string[] WebhookKeys = ["type", "verify", "entity", "key", "version", "tombstone", "map", "eventType"];

    private List<SourceDefinition> ReadSources(ConfigSection root, Dictionary<string, SystemDefinition> systems, MappingLimits limits)
    {
        var sources = new List<SourceDefinition>();
        var section = root.Section("sources");
        if (section is null) return sources;
        foreach (var (name, source) in section.Entries())
        {
            var type = source.String("type", required: true);
            switch (type)
            {
                case "http-poll":
                    source.CheckKeys(PollKeys);
                    if (ReadPoll(name, source, systems, limits) is { } poll) sources.Add(poll);
                    break;
                case "webhook":
                    source.CheckKeys(WebhookKeys);
                    if (ReadWebhook(name, source, limits) is { } hook) sources.Add(hook);
                    break;
                case "sql-poll":
                    source.CheckKeys(SqlPollKeys);
                    if (ReadSqlPoll(name, source, systems, limits) is { } sql) sources.Add(sql);
                    break;
                case null:
                    break;
                default:
                    if (_factories.TryGetValue(type, out var factory) && factory.SubscriptionKeys.Count > 0)
                    {
                        if (ReadSubscription(name, source, factory, systems, limits) is { } subscription) sources.Add(subscription);
                        break;
                    }
                    source.Error("type", $"unknown source type '{type}' (supported: {SourceTypes()})");
                    break;
            }
        }
        return sources;
    }

    private SourceDefinition? ReadPoll(string name, ConfigSection source, Dictionary<string, SystemDefinition> systems, MappingLimits limits)
    {
        var from = source.String("from", required: true);
        if (from is not null && (!systems.TryGetValue(from, out var system) || system.Type != "http"))
            source.Error("from", systems.ContainsKey(from) ? $"system '{from}' is not an http system" : $"unknown system '{from}'");
        var request = source.String("get", required: true);
        if (request is not null)
        {
            var parts = request.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0] != "GET" || !parts[1].StartsWith('/'))
                source.Error("get", $"'{request}' is not a request (write GET /path?since={{cursor}})");
            else request = parts[1];
        }
        var schedule = ReadSchedule(source, required: true);
        var shape = ReadShape(name, source, limits, needsKey: true);
        if (shape.Map is null && shape.Entity is null) source.Error("needs 'entity' (or a 'map' returning {entity, key, version, data})");
        var overlap = source.Duration("overlap", TimeSpan.Zero, TimeSpan.FromDays(7)) ?? TimeSpan.Zero;
        var maxPages = source.Int("maxPages", 1, 100_000) ?? 100;
        var vanished = source.String("vanished") switch
        {
            null or "ignore" => VanishedPolicy.Ignore,
            "report" => VanishedPolicy.Report,
            "delete" => VanishedPolicy.Delete,
            var other => Invalid(source, other),
        };
        return from is null || request is null ? null
            : new SourceDefinition(name, SourceKind.HttpPoll, from, request, schedule, overlap, maxPages, shape, null, source.Line) { Vanished = vanished };

        static VanishedPolicy Invalid(ConfigSection source, string value)
        {
            source.Error("vanished", $"'{value}' is not one of delete, report, ignore (what a full run does with records the source no longer returns)");
            return VanishedPolicy.Ignore;
        }
    }

    private static SourceDefinition? ReadSqlPoll(string name, ConfigSection source, Dictionary<string, SystemDefinition> systems, MappingLimits limits)
    {
        var from = source.String("from", required: true);
        if (from is not null && (!systems.TryGetValue(from, out var system) || system.Type is not ("postgres" or "sqlite" or "mysql")))
            source.Error("from", systems.ContainsKey(from) ? $"system '{from}' is not a postgres, mysql or sqlite system" : $"unknown system '{from}'");
        var table = source.String("table");
        var query = source.String("query");
        if ((table is null) == (query is null)) source.Error("needs either 'table' or 'query' (a SELECT with a {cursor} parameter)");
        if (query is not null && !query.Contains("{cursor}", StringComparison.Ordinal))
            source.Error("query", "must use the {cursor} parameter (e.g. SELECT * FROM permits WHERE updated_at >= {cursor})");
        if (!source.Has("cursor")) source.Error("cursor", "is required: the column read incrementally (an updated_at timestamp or an increasing number)");
        if (!source.Has("key")) source.Error("key", "is required: the key column (it also orders rows with equal cursors)");
        var schedule = ReadSchedule(source, required: true);
        var shape = ReadShape(name, source, limits, needsKey: false);
        if (shape.Map is null && shape.Entity is null) source.Error("needs 'entity' (or a 'map' returning {entity, key, version, data})");
        var overlap = source.Duration("overlap", TimeSpan.Zero, TimeSpan.FromDays(7)) ?? TimeSpan.Zero;
        var maxPages = source.Int("maxPages", 1, 100_000) ?? 100;
        var pageSize = source.Int("pageSize", 1, 10_000) ?? 500;
        return from is null || (table is null && query is null) || shape.CursorField is null || shape.KeyField is null ? null
            : new SourceDefinition(name, SourceKind.SqlPoll, from, query, schedule, overlap, maxPages, shape, null, source.Line) { Table = table, PageSize = pageSize };
    }

    private static SourceDefinition? ReadWebhook(string name, ConfigSection source, MappingLimits limits)
    {
        var shape = ReadShape(name, source, limits, needsKey: false);
        if (shape.Map is null && (shape.Entity is null || shape.KeyField is null))
            source.Error("needs a 'map' returning {entity, key, version, data}, or 'entity' and 'key'");
        if (IsNone(source))
            return new SourceDefinition(name, SourceKind.Webhook, null, null, null, TimeSpan.Zero, 1, shape, WebhookVerification.Unsigned, source.Line);
        if (source.ScalarOrNull("verify") is { Length: > 0 } word && word is not ("~" or "null"))
        {
            source.Error("verify", "must be 'none' (accept unsigned pushes) or a mapping with standardWebhooks or hmac");
            return null;
        }
        var verify = source.Section("verify", required: true);
        if (verify is null) return null;
        verify.CheckKeys(["standardWebhooks", "hmac", "tolerance"]);
        var tolerance = verify.Duration("tolerance", TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)) ?? TimeSpan.FromMinutes(5);
        var errorsBefore = verify.Context.Errors.Count;
        var standard = verify.WebhookSecrets("standardWebhooks");
        string? header = null;
        var hmacSecrets = new List<Secret>();
        if (verify.Section("hmac") is { } hmac)
        {
            hmac.CheckKeys(["header", "secret", "secrets"]);
            header = hmac.String("header") ?? "X-Signature";
            hmacSecrets.AddRange(SecretList(hmac, "secret"));
            hmacSecrets.AddRange(SecretList(hmac, "secrets"));
            if (hmacSecrets.Count == 0 && verify.Context.Errors.Count == errorsBefore) hmac.Error("needs 'secret'");
        }
        // A block that names no secret would verify nothing; only the explicit "verify: none" may accept unsigned pushes.
        if (standard.Count == 0 && hmacSecrets.Count == 0)
        {
            if (verify.Context.Errors.Count == errorsBefore)
                source.Error("verify", "verifies nothing: give standardWebhooks (whsec_ secrets) or hmac: { secret }, or write 'verify: none' to accept unsigned pushes");
            return null;
        }
        return new SourceDefinition(name, SourceKind.Webhook, null, null, null, TimeSpan.Zero, 1, shape,
            new WebhookVerification(standard, header, hmacSecrets, tolerance), source.Line);
    }

    // "verify: none" is the only way to accept unsigned pushes: the choice is explicit in the file.
    private static bool IsNone(ConfigSection source) => source.ScalarOrNull("verify") == "none";

    private static IEnumerable<Secret> SecretList(ConfigSection section, string key)
    {
        foreach (var value in section.StringList(key))
        {
            section.Context.Secrets.Add(value, always: true);
            if (value.Length == 0) section.Error(key, "must not be empty (an empty HMAC key is known to everyone)");
            else yield return new Secret(value);
        }
    }

    private static ItemShape ReadShape(string name, ConfigSection source, MappingLimits limits, bool needsKey)
    {
        var map = Script(source, "map", limits);
        var key = source.String("key");
        if (needsKey && map is null && key is null) source.Error("key", "is required (the field holding each item's key), or give a 'map'");
        return new ItemShape(source.String("entity"), key, source.String("version"), source.String("cursor"), source.String("tombstone"), map,
            source.String("eventType") ?? name);
    }

    private static Schedule? ReadSchedule(ConfigSection section, bool required)
    {
        var interval = section.Duration("interval", TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(365));
        var cronText = section.String("cron");
        var jitter = section.Duration("jitter", TimeSpan.Zero, TimeSpan.FromHours(1)) ?? TimeSpan.Zero;
        if (interval is not null && cronText is not null)
        {
            section.Error("cron", "give either 'interval' or 'cron', not both");
            return null;
        }
        if (interval is { } every) return new Schedule(every, null, TimeZoneInfo.Utc, jitter, $"every {Durations.Format(every)}");
        if (cronText is null)
        {
            if (required) section.Error("needs 'interval' (e.g. 5m) or 'cron' (e.g. \"*/5 * * * *\")");
            return null;
        }
        CronExpression cron;
        try
        {
            cron = CronExpression.Parse(cronText, cronText.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            section.Error("cron", $"'{cronText}' is not a cron expression: {e.Message}");
            return null;
        }
        var zone = TimeZoneInfo.Utc;
        if (section.String("timeZone") is { } zoneName)
        {
            try
            {
                zone = TimeZoneInfo.FindSystemTimeZoneById(zoneName);
            }
            catch (TimeZoneNotFoundException)
            {
                section.Error("timeZone", $"unknown time zone '{zoneName}' (use an IANA name such as Europe/Paris)");
            }
        }
        return new Schedule(null, cron, zone, jitter, $"cron \"{cronText}\" ({zone.Id})");
    }

    private static List<ScheduleDefinition> ReadSchedules(ConfigSection root, List<FlowDefinition> flows, List<SourceDefinition> sources)
    {
        var list = new List<ScheduleDefinition>();
        var section = root.Section("schedules");
        if (section is null) return list;
        foreach (var (name, entry) in section.Entries())
        {
            entry.CheckKeys(["run", "full", "interval", "cron", "timeZone", "jitter"]);
            var run = entry.String("run", required: true);
            var full = entry.Bool("full") ?? false;
            var schedule = ReadSchedule(entry, required: true);
            var flow = flows.FirstOrDefault(f => f.Name == run);
            if (run is not null && flow is null && !sources.Any(s => s.Name == run && s.Kind != SourceKind.Webhook))
                entry.Error("run", $"'{run}' is neither a flow nor a poll source");
            else if (full && flow is not null && flow.Reconcile is null)
                entry.Error("full", $"flow '{run}' needs 'reconcile:' (and a read operation) for a full sync");
            if (run is not null && schedule is not null) list.Add(new ScheduleDefinition(name, run, full, schedule));
        }
        return list;
    }

    private static ReconcileOptions? ReadReconcile(ConfigSection flow)
    {
        var section = flow.Section("reconcile");
        if (section is null) return null;
        section.CheckKeys(["cron", "interval", "timeZone", "jitter", "deleteExtra", "readsPerSecond", "maxPages"]);
        var deleteExtra = section.Bool("deleteExtra") ?? false;
        return new ReconcileOptions(ReadSchedule(section, required: false), deleteExtra, section.Int("readsPerSecond", 1, 100_000) ?? 200)
        {
            MaxPages = section.Int("maxPages", 1, 1_000_000) ?? 10_000,
        };
    }
}
