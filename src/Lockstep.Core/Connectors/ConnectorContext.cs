using Lockstep.Configuration;
using Microsoft.Extensions.Logging;

namespace Lockstep.Connectors;

/// <summary>What a connector may use from the engine: time, logging and the redactor for any text it reports.</summary>
public sealed record ConnectorContext(TimeProvider Time, ILoggerFactory Logging, SecretRedactor Secrets)
{
    /// <summary>
    /// The journal's identity map, for flows whose target assigns its own ids on create (<c>create:</c>, <c>lookup:</c>);
    /// null where no journal backs the connector (a connector built alone).
    /// </summary>
    public Journal.IIdentityStore? Identities { get; init; }
}
