namespace Lockstep.Connectors.Messaging.Nats;

/// <summary>A NATS server and, optionally, the JetStream stream Lockstep creates or updates to hold what it publishes.</summary>
internal sealed record NatsSystemOptions(Uri Url, string? Stream, IReadOnlyList<string> Subjects, TimeSpan DuplicateWindow);
