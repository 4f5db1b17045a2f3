using System.Text;
using Lockstep.Configuration;
using Lockstep.Sources;

namespace Lockstep.Connectors.Http;

/// <summary><c>type: http</c>: a REST API written to with one request per record version, upsert by key.</summary>
public sealed class HttpConnectorFactory : IConnectorFactory
{
    public string Type => "http";

    public IReadOnlyCollection<string> SystemKeys { get; } = ["url", "auth", "headers"];

    public IReadOnlyCollection<string> FlowKeys { get; } = ["upsert", "delete", "get"];

    public object? BindSystem(ConfigSection system)
    {
        var baseUrl = system.HttpUrl("url", required: true);
        var auth = BindAuth(system.Section("auth"));
        var headers = system.StringMap("headers");
        return baseUrl is null ? null : new HttpSystemOptions(baseUrl, auth, headers);
    }

    private static HttpAuth? BindAuth(ConfigSection? auth)
    {
        if (auth is null) return null;
        auth.CheckKeys(["bearer", "basic", "apiKey"]);
        var kinds = auth.Keys.Count(k => k is "bearer" or "basic" or "apiKey");
        if (kinds != 1)
        {
            auth.Error("must have exactly one of bearer, basic or apiKey");
            return null;
        }
        if (auth.Has("bearer"))
            return auth.SecretValue("bearer", required: true) is { } token ? new HttpAuth("Authorization", new Secret("Bearer " + token.Reveal())) : null;
        if (auth.Section("basic", required: auth.Has("basic")) is { } basic)
        {
            basic.CheckKeys(["user", "password"]);
            var user = basic.String("user", required: true);
            var password = basic.SecretValue("password", required: true);
            if (user is null || password is null) return null;
            var encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password.Reveal()}"));
            auth.Context.Secrets.Add(encoded, always: true);
            return new HttpAuth("Authorization", new Secret("Basic " + encoded));
        }
        if (auth.Section("apiKey", required: true) is { } apiKey)
        {
            apiKey.CheckKeys(["header", "value"]);
            var header = apiKey.String("header", required: true);
            var value = apiKey.SecretValue("value", required: true);
            return header is null || value is null ? null : new HttpAuth(header, value);
        }
        return null;
    }

    public object? BindFlow(ConfigSection flow, SystemDefinition system)
    {
        var upsertText = flow.String("upsert");
        var deleteText = flow.String("delete");
        if (upsertText is null)
        {
            flow.Error($"needs 'upsert' (e.g. upsert: PUT /api/records/{{key}}) to write to http system '{system.Name}'");
            return null;
        }
        var upsert = HttpOperation.Parse(upsertText, out var error);
        if (error is not null) flow.Error("upsert", error);
        HttpOperation? delete = null;
        if (deleteText is not null)
        {
            delete = HttpOperation.Parse(deleteText, out error);
            if (error is not null) flow.Error("delete", error);
        }
        HttpOperation? get = null;
        if (flow.String("get") is { } getText)
        {
            get = HttpOperation.Parse(getText, out error, allowGet: true);
            if (error is not null) flow.Error("get", error);
            else if (get!.Method != HttpMethod.Get) flow.Error("get", "must be a GET request");
        }
        foreach (var (name, value) in flow.StringMap("headers"))
        {
            if (Templates.Unknown(value) is { } unknown) flow.Error("headers", $"{name}: unknown placeholder {{{unknown}}} (use {{key}}, {{entity}}, {{version}}, {{flow}})");
        }
        return upsert is null ? null : new HttpFlowOptions(upsert, delete, get);
    }

    public IConnector Create(SystemDefinition system, ConnectorContext context) =>
        new HttpConnector(system, (HttpSystemOptions)system.Settings!, context);

    public ISource CreateSource(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        new HttpPollSource(source, system, (HttpSystemOptions)system.Settings!, context);

    public string? CannotReconcile(FlowDefinition flow) =>
        (flow.Settings as HttpFlowOptions)?.Get is null ? "reconcile needs a 'get' operation (e.g. get: GET /api/records/{key})" : null;
}
