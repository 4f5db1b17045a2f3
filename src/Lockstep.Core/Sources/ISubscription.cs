namespace Lockstep.Sources;

/// <summary>
/// A long-running consumer of a broker (NATS JetStream, AMQP queue, MQTT topic): unlike a poll it is pushed items. It hands
/// each received message to the sink and acknowledges it to the broker only after the sink returns, which is after the
/// journal commit, so a crash before that makes the broker redeliver and intake dedupes it by its event id.
/// </summary>
public interface ISubscription : IAsyncDisposable
{
    /// <summary>Consumes until cancelled. Throws when the connection is lost; the engine starts it again after a backoff.</summary>
    Task RunAsync(ISubscriptionSink sink, CancellationToken cancellationToken);

    /// <summary>What status shows as the source's schedule, e.g. <c>nats subject chat.&gt; (durable lockstep)</c>.</summary>
    string Describe { get; }
}
