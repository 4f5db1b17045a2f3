using Lockstep.Configuration;
using Lockstep.Sources;

namespace Lockstep.Connectors.Http.Soap;

/// <summary>
/// <c>type: soap</c>: a partner's SOAP endpoint (<c>url</c>, optional <c>auth</c> and WS-Security
/// <c>usernameToken</c>); each flow names its <c>envelope</c> template, <c>action</c> and <c>soapVersion</c>.
/// </summary>
public sealed class SoapConnectorFactory : IConnectorFactory
{
    public string Type => "soap";

    public IReadOnlyCollection<string> SystemKeys { get; } = ["url", "auth", "usernameToken"];

    public IReadOnlyCollection<string> FlowKeys { get; } = ["envelope", "action", "soapVersion", "deleteEnvelope", "deleteAction"];

    public object? BindSystem(ConfigSection system)
    {
        var url = system.HttpUrl("url", required: true);
        var auth = HttpAuthReader.Read(system.Section("auth"), ["basic", "bearer"]);
        UsernameToken? token = null;
        if (system.Section("usernameToken", required: system.Has("usernameToken")) is { } section)
        {
            section.CheckKeys(["username", "password", "passwordType"]);
            var username = section.String("username", required: true);
            var password = section.SecretValue("password", required: true);
            var digest = section.String("passwordType") switch
            {
                null or "text" => false,
                "digest" => true,
                var other => Invalid(section, other),
            };
            if (username is not null && password is not null) token = new UsernameToken(username, password, digest);
        }
        return url is null ? null : new SoapSystemOptions(url, auth, token);

        static bool Invalid(ConfigSection section, string value)
        {
            section.Error("passwordType", $"'{value}' is not one of text, digest (how the UsernameToken carries the password)");
            return false;
        }
    }

    public object? BindFlow(ConfigSection flow, SystemDefinition system)
    {
        var version = flow.String("soapVersion") switch
        {
            null or "1.1" => SoapVersion.Soap11,
            "1.2" => SoapVersion.Soap12,
            var other => InvalidVersion(flow, other),
        };
        var envelope = Template(flow, "envelope", required: true, version);
        var action = flow.String("action");
        if (action is { Length: 0 }) flow.Error("action", "must not be empty (leave it out for no action)");
        var deleteEnvelope = Template(flow, "deleteEnvelope", required: false, version);
        var deleteAction = flow.String("deleteAction");
        if (deleteAction is not null && deleteEnvelope is null) flow.Error("deleteAction", "only applies with 'deleteEnvelope'");
        if (action is not null && action.Contains('"', StringComparison.Ordinal)) flow.Error("action", "must not contain '\"' (it is sent quoted)");
        return envelope is null ? null : new SoapFlowOptions(envelope, action, version, deleteEnvelope, deleteAction ?? action);

        static SoapVersion InvalidVersion(ConfigSection flow, string value)
        {
            flow.Error("soapVersion", $"'{value}' is not one of 1.1, 1.2");
            return SoapVersion.Soap11;
        }
    }

    private static SoapTemplate? Template(ConfigSection flow, string key, bool required, SoapVersion version)
    {
        var text = flow.String(key, required);
        if (text is null) return null;
        var template = SoapTemplate.Parse(text, version, out var error);
        if (template is null) flow.Error(key, error!);
        return template;
    }

    public IConnector Create(SystemDefinition system, ConnectorContext context) =>
        new SoapConnector(system, (SoapSystemOptions)system.Settings!, context);

    public ISource CreateSource(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        throw new NotSupportedException("a soap system cannot be polled yet");

    public string? CannotReconcile(FlowDefinition flow) => "a soap target has no read operation (reading a record back over SOAP is not supported yet)";
}

/// <summary>SOAP 1.1 (<c>text/xml</c> + <c>SOAPAction</c>) or 1.2 (<c>application/soap+xml; action=…</c>).</summary>
internal enum SoapVersion
{
    Soap11 = 0,
    Soap12 = 1,
}

/// <summary>WS-Security UsernameToken: the password as text, or as a digest of nonce, created time and password.</summary>
internal sealed record UsernameToken(string Username, Secret Password, bool Digest);

internal sealed record SoapSystemOptions(Uri Url, HttpAuth? Auth, UsernameToken? UsernameToken);

internal sealed record SoapFlowOptions(SoapTemplate Envelope, string? Action, SoapVersion Version, SoapTemplate? DeleteEnvelope, string? DeleteAction);
