namespace Lockstep.Connectors.Messaging.Nats;

/// <summary>A durable pull consumer on a stream: its filter subject, name, how many messages may be unacknowledged, and the ack wait.</summary>
internal sealed record NatsSubscriptionOptions(string Stream, string Subject, string Durable, int Prefetch, TimeSpan AckWait);
