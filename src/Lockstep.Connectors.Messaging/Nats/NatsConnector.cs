using System.Globalization;
using System.Net.Sockets;
using Lockstep.Configuration;
using Lockstep.Connectors.Messaging.Topics;
using Lockstep.Deliveries;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Lockstep.Connectors.Messaging.Nats;

/// <summary>
/// Publishes one message per record version to JetStream with <c>Nats-Msg-Id</c> = the idempotency key and waits for the
/// PubAck: the stream has stored it (a duplicate ack means it already had it, which is success too). A lost connection,
/// a timeout or a stream that is not ready is transient; a rejected message (too large for the stream, a subject the user
/// may not publish to) and a refused login are permanent.
/// </summary>
internal sealed class NatsConnector(NatsSystemOptions options, SystemDefinition system, ConnectorContext context) : IConnector
{
    private readonly NatsLink _link = new(options.Url, "lockstep-" + system.Name, system.Timeout);

    public async ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var subject = ((NatsFlowOptions)flow.Settings!).Subject.Render(delivery);
        _link.ClearRefusal(subject);
        try
        {
            var jetStream = await _link.JetStreamAsync(EnsureStreamAsync, cancellationToken).ConfigureAwait(false);
            var headers = new NatsHeaders
            {
                ["lockstep-op"] = Tombstone.Op(delivery),
                ["lockstep-entity"] = delivery.Entity,
                ["lockstep-key"] = delivery.Key,
                ["lockstep-version"] = delivery.Version.ToString(CultureInfo.InvariantCulture),
            };
            foreach (var (name, value) in flow.Headers) headers[name] = value;
            var ack = await jetStream.PublishAsync(subject, Tombstone.Body(delivery, body).ToArray(), opts: new NatsJSPubOpts { MsgId = delivery.IdempotencyKey },
                headers: headers, cancellationToken: cancellationToken).ConfigureAwait(false);
            // A duplicate ack is what a retry after a lost ack gets: the stream already holds the message.
            if (!ack.Duplicate) ack.EnsureSuccess();
            // Checkpoint: the stream holds the message (or already held it: a duplicate within the dedupe window).
            return ConnectorResult.Success();
        }
        catch (NatsJSApiException e)
        {
            var error = Redact($"JetStream refused {subject}: {e.Error.Description} ({e.Error.Code}/{e.Error.ErrCode})");
            return e.Error.Code is 503 or 408 or 429 or >= 500 ? ConnectorResult.Transient(error, e.Error.Code) : ConnectorResult.Permanent(error, e.Error.Code);
        }
        catch (NatsNoRespondersException) when (_link.Refusal(subject) is null)
        {
            return ConnectorResult.Transient($"no JetStream stream answered for {subject} (JetStream not ready, or no stream holds the subject)");
        }
        catch (Exception e) when (e is NatsException or TimeoutException or SocketException or IOException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            if (_link.Refusal(subject) is { } refusal) return ConnectorResult.Permanent(Redact($"{_link.Shown} refused the message: {refusal}"));
            if (AuthError(e) is { } auth) return ConnectorResult.Permanent(Redact($"{_link.Shown} refused the login: {auth.Message}"));
            return ConnectorResult.Transient(Redact($"cannot publish to {_link.Shown}: {e.GetType().Name}: {e.Message}"));
        }
    }

    private static NatsServerException? AuthError(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is NatsServerException { IsAuthError: true } auth) return auth;
        }
        return null;
    }

    private async ValueTask EnsureStreamAsync(NatsJSContext jetStream, CancellationToken cancellationToken)
    {
        if (options.Stream is null) return;
        await jetStream.CreateOrUpdateStreamAsync(new StreamConfig(options.Stream, [.. options.Subjects])
        {
            Storage = StreamConfigStorage.File,
            DuplicateWindow = options.DuplicateWindow,
        }, cancellationToken).ConfigureAwait(false);
    }

    private string Redact(string text) => context.Secrets.Redact(text) ?? "";

    public ValueTask<TargetRead> ReadAsync(Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken) =>
        ValueTask.FromResult(TargetRead.Failed("a nats target cannot be read back"));

    public ValueTask DisposeAsync() => _link.DisposeAsync();
}
