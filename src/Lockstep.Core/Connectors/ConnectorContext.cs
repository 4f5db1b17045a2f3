using Lockstep.Configuration;
using Microsoft.Extensions.Logging;

namespace Lockstep.Connectors;

/// <summary>What a connector may use from the engine: time, logging and the redactor for any text it reports.</summary>
public sealed record ConnectorContext(TimeProvider Time, ILoggerFactory Logging, SecretRedactor Secrets);
