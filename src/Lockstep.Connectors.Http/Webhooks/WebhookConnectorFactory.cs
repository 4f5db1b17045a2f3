using Lockstep.Configuration;
using Lockstep.Sources;

namespace Lockstep.Connectors.Http.Webhooks;

/// <summary><c>type: webhook</c>: POST each record version to a subscriber URL, signed per Standard Webhooks.</summary>
public sealed class WebhookConnectorFactory : IConnectorFactory
{
    public string Type => "webhook";

    public IReadOnlyCollection<string> SystemKeys { get; } = ["url", "secret", "secrets", "headers"];

    public IReadOnlyCollection<string> FlowKeys { get; } = [];

    public object? BindSystem(ConfigSection system)
    {
        var endpoint = system.HttpUrl("url", required: true);
        var secrets = system.WebhookSecrets("secret", "secrets");
        if (secrets.Count == 0 && !system.Has("secret") && !system.Has("secrets")) system.Error("needs 'secret' (whsec_...) to sign with");
        var headers = system.StringMap("headers");
        return endpoint is null || secrets.Count == 0 ? null : new WebhookOptions(endpoint, secrets, headers);
    }

    public object? BindFlow(ConfigSection flow, SystemDefinition system) => null;

    public IConnector Create(SystemDefinition system, ConnectorContext context) =>
        new WebhookConnector(system, (WebhookOptions)system.Settings!, context);

    public ISource CreateSource(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        throw new NotSupportedException("a webhook system cannot be polled; use a 'type: webhook' source to receive pushes");

    public string? CannotReconcile(FlowDefinition flow) => "a webhook subscriber cannot be read back, so it cannot be reconciled";
}
