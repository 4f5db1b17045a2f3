namespace Lockstep.Sources;

/// <summary>Where a subscription hands its messages: mapped by the source's shape and committed to the journal.</summary>
public interface ISubscriptionSink
{
    /// <summary>
    /// Maps one message and commits its event; returns only after the commit (group commit with other intake). Throws when
    /// the commit fails: the caller must then not acknowledge the message.
    /// </summary>
    /// <param name="body">The message body (UTF-8 JSON).</param>
    /// <param name="messageId">The broker's message id (<c>Nats-Msg-Id</c>, AMQP <c>message-id</c>, MQTT <c>lockstep-id</c>), or null to use a content hash.</param>
    ValueTask<SubscriptionAccept> AcceptAsync(ReadOnlyMemory<byte> body, string? messageId, CancellationToken cancellationToken);
}
