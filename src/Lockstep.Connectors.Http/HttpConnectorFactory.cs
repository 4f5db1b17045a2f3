using Lockstep.Configuration;
using Lockstep.Sources;

namespace Lockstep.Connectors.Http;

/// <summary><c>type: http</c>: a REST API written to with one request per record version, upsert by key.</summary>
public sealed class HttpConnectorFactory : IConnectorFactory
{
    public string Type => "http";

    public IReadOnlyCollection<string> SystemKeys { get; } = ["url", "auth", "headers", "tls"];

    public IReadOnlyCollection<string> FlowKeys { get; } = ["upsert", "delete", "get"];

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
