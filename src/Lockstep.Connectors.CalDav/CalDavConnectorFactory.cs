using Lockstep.Configuration;
using Lockstep.Connectors.Http;
using Lockstep.Sources;

namespace Lockstep.Connectors.CalDav;

/// <summary>
/// <c>type: caldav</c>: a calendar collection (Radicale, Nextcloud, SOGo, ...) where each record is one VEVENT with
/// <c>UID = {entity}-{key}</c>, written by UID so a retry replaces the event instead of adding one.
/// </summary>
public sealed class CalDavConnectorFactory : IConnectorFactory
{
    public string Type => "caldav";

    public IReadOnlyCollection<string> SystemKeys { get; } = ["url", "auth"];

    public IReadOnlyCollection<string> FlowKeys { get; } = [];

    public object? BindSystem(ConfigSection system)
    {
        var url = system.HttpUrl("url", required: true);
        var auth = HttpAuthReader.Read(system.Section("auth"), ["basic", "bearer"]);
        if (url is null) return null;
        if (!string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.Fragment))
        {
            system.Error("url", "must be the calendar collection's URL, without a query or fragment");
            return null;
        }
        // A collection URL names a folder: without the trailing '/', relative event URLs would replace its last segment.
        var calendar = url.AbsolutePath.EndsWith('/') ? url : new Uri(url, url.AbsolutePath + "/");
        return new CalDavSystemOptions(calendar, auth);
    }

    public object? BindFlow(ConfigSection flow, SystemDefinition system) => null;

    public IConnector Create(SystemDefinition system, ConnectorContext context) =>
        new CalDavConnector(system, (CalDavSystemOptions)system.Settings!, context);

    public ISource CreateSource(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        throw new NotSupportedException("a caldav system cannot be polled yet");

    public string? CannotReconcile(FlowDefinition flow) => null;
}
