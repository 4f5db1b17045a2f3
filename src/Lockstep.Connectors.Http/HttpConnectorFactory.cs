using Lockstep.Configuration;
using Lockstep.Sources;

namespace Lockstep.Connectors.Http;

/// <summary><c>type: http</c>: a REST API written to with one request per record version, upsert by key.</summary>
public sealed class HttpConnectorFactory : IConnectorFactory
{
    public string Type => "http";

    public IReadOnlyCollection<string> SystemKeys { get; } = ["url", "auth", "headers", "tls"];

    public IReadOnlyCollection<string> FlowKeys { get; } = ["upsert", "delete", "get", "list", "listKey", "batch", "linger", "batchSize",
        "create", "createId", "lookup", "lookupId", "update"];

    public object? BindSystem(ConfigSection system)
    {
        var baseUrl = system.HttpUrl("url", required: true);
        var authSection = system.Section("auth");
        var auth = HttpAuthReader.Read(authSection, ["bearer", "basic", "apiKey", "oauth2"]);
        var oauth2 = HttpAuthReader.ReadOAuth2(authSection);
        var headers = system.StringMap("headers");
        var tls = HttpTlsReader.Read(system.Section("tls"));
        return baseUrl is null ? null : new HttpSystemOptions(baseUrl, auth, headers) { OAuth2 = oauth2, Tls = tls };
    }

    public object? BindFlow(ConfigSection flow, SystemDefinition system)
    {
        var upsertText = flow.String("upsert");
        var deleteText = flow.String("delete");
        var batchText = flow.String("batch");
        var createText = flow.String("create");
        if (upsertText is null && batchText is null && createText is null)
        {
            flow.Error($"needs 'upsert' (e.g. upsert: PUT /api/records/{{key}}), 'batch' (e.g. batch: POST /api/records/batch) or 'create' (for a target that assigns its own ids) to write to http system '{system.Name}'");
            return null;
        }
        var identity = createText is not null;
        string? error = null;
        var upsert = upsertText is null ? null : HttpOperation.Parse(upsertText, out error);
        if (error is not null) flow.Error("upsert", error);
        HttpOperation? batch = null;
        if (batchText is not null)
        {
            batch = HttpOperation.Parse(batchText, out error);
            if (error is not null) flow.Error("batch", error);
            else if (batch!.Method == HttpMethod.Delete || batch.Path.Contains('{', StringComparison.Ordinal))
            {
                flow.Error("batch", "must be a POST, PUT or PATCH to one path without placeholders (it carries many records)");
                batch = null;
            }
        }
        var linger = flow.Duration("linger", TimeSpan.Zero, TimeSpan.FromSeconds(10));
        if (linger is not null && batchText is null) flow.Error("linger", "only applies with 'batch'");
        var batchSize = flow.Int("batchSize", 1, 10_000);
        if (batchSize is not null && batchText is null) flow.Error("batchSize", "only applies with 'batch'");
        HttpOperation? delete = null;
        if (deleteText is not null)
        {
            delete = HttpOperation.Parse(deleteText, out error, targetId: identity);
            if (error is not null) flow.Error("delete", error);
        }
        HttpOperation? get = null;
        if (flow.String("get") is { } getText)
        {
            get = HttpOperation.Parse(getText, out error, allowGet: true, targetId: identity);
            if (error is not null) flow.Error("get", error);
            else if (get!.Method != HttpMethod.Get) flow.Error("get", "must be a GET request");
        }
        HttpListOperation? list = null;
        var listKey = flow.String("listKey");
        if (flow.String("list") is { } listText)
        {
            list = HttpListOperation.Parse(listText, out error);
            if (error is not null) flow.Error("list", error);
            if (listKey is null) flow.Error("listKey", "is required with 'list': the field of each listed item that holds the record's key (e.g. listKey: permitId)");
        }
        else if (listKey is not null) flow.Error("listKey", "only applies with 'list'");
        foreach (var (name, value) in flow.StringMap("headers"))
        {
            if (Templates.Unknown(value) is { } unknown) flow.Error("headers", $"{name}: unknown placeholder {{{unknown}}} (use {{key}}, {{entity}}, {{version}}, {{flow}})");
        }
        var ids = BindIdentity(flow, createText, upsertText, batchText);
        if (upsert is null && batch is null && ids?.Create is null) return null;
        return new HttpFlowOptions(upsert, delete, get)
        {
            Batch = batch,
            Linger = linger ?? TimeSpan.FromMilliseconds(50),
            BatchSize = batchSize,
            List = list,
            ListKey = listKey,
            Create = ids?.Create,
            CreateId = ids?.CreateId,
            Lookup = ids?.Lookup,
            LookupId = ids?.LookupId,
            Update = ids?.Update,
        };
    }

    /// <summary>
    /// The create-or-update keys of a target that assigns its own ids: <c>create</c> with <c>createId</c>, <c>lookup</c>
    /// with <c>lookupId</c> (required: a create whose outcome is unknown is looked up before any second create), and
    /// <c>update</c> by <c>{targetId}</c>. Without <c>create</c> none of them applies.
    /// </summary>
    private static HttpFlowOptions? BindIdentity(ConfigSection flow, string? createText, string? upsertText, string? batchText)
    {
        string[] others = ["createId", "lookup", "lookupId", "update"];
        if (createText is null)
        {
            foreach (var key in others.Where(k => flow.String(k) is not null)) flow.Error(key, "only applies with 'create' (a target that assigns its own ids)");
            return null;
        }
        if (upsertText is not null) flow.Error("upsert", "cannot be combined with 'create': use 'update' (e.g. update: PUT /api/contacts/{targetId})");
        if (batchText is not null) flow.Error("batch", "cannot be combined with 'create' (each record needs its own id)");
        var create = HttpOperation.Parse(createText, out var error);
        if (error is not null) flow.Error("create", error);
        else if (create!.Method == HttpMethod.Delete) { flow.Error("create", "must be a POST, PUT or PATCH"); create = null; }
        var createId = ReadPath(flow, "createId", "$.id");
        HttpOperation? lookup = null;
        if (flow.String("lookup") is { } lookupText)
        {
            lookup = HttpOperation.Parse(lookupText, out error, allowGet: true);
            if (error is not null) flow.Error("lookup", error);
            else if (lookup!.Method != HttpMethod.Get) { flow.Error("lookup", "must be a GET request (e.g. lookup: GET /api/contacts?externalKey={key})"); lookup = null; }
        }
        else
        {
            flow.Error("lookup", "is required with 'create': a create whose answer was lost is looked up before any second create (e.g. lookup: GET /api/contacts?externalKey={key})");
        }
        var lookupId = ReadPath(flow, "lookupId", "$.items[0].id");
        HttpOperation? update = null;
        if (flow.String("update") is { } updateText)
        {
            update = HttpOperation.Parse(updateText, out error, targetId: true);
            if (error is not null) flow.Error("update", error);
            else if (update!.Method == HttpMethod.Delete) { flow.Error("update", "must be a POST, PUT or PATCH"); update = null; }
        }
        else
        {
            flow.Error("update", "is required with 'create' (e.g. update: PUT /api/contacts/{targetId})");
        }
        if (create is null || createId is null || lookup is null || lookupId is null || update is null) return null;
        return new HttpFlowOptions(null, null, null) { Create = create, CreateId = createId, Lookup = lookup, LookupId = lookupId, Update = update };
    }

    private static JsonPath? ReadPath(ConfigSection flow, string key, string example)
    {
        if (flow.String(key) is not { } text)
        {
            flow.Error(key, $"is required with 'create': where the answer holds the target's id (e.g. {key}: {example})");
            return null;
        }
        var path = JsonPath.Parse(text, out var error);
        if (error is not null) flow.Error(key, error);
        return path;
    }

    public IConnector Create(SystemDefinition system, ConnectorContext context) =>
        new HttpConnector(system, (HttpSystemOptions)system.Settings!, context);

    public ISource CreateSource(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        new HttpPollSource(source, system, (HttpSystemOptions)system.Settings!, context);

    public string? CannotReconcile(FlowDefinition flow) => (flow.Settings as HttpFlowOptions) switch
    {
        null or { Get: null, List: null } => "reconcile needs a 'list' operation (e.g. list: GET /api/records?page={page}) or a 'get' operation (e.g. get: GET /api/records/{key})",
        { Delete: null } when flow.Reconcile?.DeleteExtra == true => "deleteExtra needs a 'delete' operation (e.g. delete: DELETE /api/records/{key})",
        _ => null,
    };

    public bool Lists(FlowDefinition flow) => flow.Settings is HttpFlowOptions { List: not null };
}
