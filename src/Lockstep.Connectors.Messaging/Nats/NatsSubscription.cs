using Lockstep.Configuration;
using Lockstep.Sources;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Lockstep.Connectors.Messaging.Nats;

/// <summary>
/// A durable pull consumer with explicit acks: each message is acknowledged only after the sink has committed it, so a
/// crash leaves it unacknowledged and JetStream redelivers it after the ack wait. Messages are handled one at a time, in
/// stream order; the event id is the publisher's <c>Nats-Msg-Id</c>.
/// </summary>
internal sealed class NatsSubscription(NatsSubscriptionOptions options, NatsSystemOptions system, SystemDefinition definition) : ISubscription
{
    private readonly NatsLink _link = new(system.Url, "lockstep-" + definition.Name + "-" + options.Durable, definition.Timeout);

    public string Describe => $"nats {options.Stream} {options.Subject} (durable {options.Durable})";

    public async Task RunAsync(ISubscriptionSink sink, CancellationToken cancellationToken)
    {
        var jetStream = await _link.JetStreamAsync(null, cancellationToken).ConfigureAwait(false);
        var consumer = await jetStream.CreateOrUpdateConsumerAsync(options.Stream, new ConsumerConfig(options.Durable)
        {
            FilterSubject = options.Subject,
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            AckWait = options.AckWait,
            MaxAckPending = options.Prefetch,
        }, cancellationToken).ConfigureAwait(false);
        await foreach (var message in consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = options.Prefetch }, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var id = message.Headers is { } headers && headers.TryGetValue("Nats-Msg-Id", out var value) ? value.ToString() : null;
            await sink.AcceptAsync(message.Data ?? [], id, cancellationToken).ConfigureAwait(false);
            // Checkpoint: committed to the journal; only now may JetStream forget it.
            await message.AckAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        cancellationToken.ThrowIfCancellationRequested();
        throw new InvalidOperationException($"the consumer {options.Durable} on stream {options.Stream} stopped delivering");
    }

    public ValueTask DisposeAsync() => _link.DisposeAsync();
}
