using Lockstep.Tests.Support;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Lockstep.Tests.Connectors.Messaging;

/// <summary>A plain NATS client on the test server: publishes raw messages and reads a stream back, as another program would.</summary>
internal sealed class NatsProbe : IAsyncDisposable
{
    private readonly NatsConnection _connection = new(NatsOpts.Default with { Url = TestServers.Nats });

    public NatsJSContext JetStream => new(_connection);

    public async Task CreateStreamAsync(string stream, string subjects) =>
        await JetStream.CreateOrUpdateStreamAsync(new StreamConfig(stream, [subjects]));

    public async Task PublishAsync(string subject, string json, string? msgId)
    {
        var ack = await JetStream.PublishAsync(subject, System.Text.Encoding.UTF8.GetBytes(json), opts: msgId is null ? null : new NatsJSPubOpts { MsgId = msgId });
        ack.EnsureSuccess();
    }

    /// <summary>Every message the stream holds, in order (bounded by the test limit).</summary>
    public async Task<List<(string Subject, string? MsgId, string Body)>> ReadAllAsync(string stream)
    {
        var info = await JetStream.GetStreamAsync(stream);
        var count = (int)info.Info.State.Messages;
        var messages = new List<(string, string?, string)>();
        if (count == 0) return messages;
        var consumer = await JetStream.CreateOrderedConsumerAsync(stream);
        using var limit = new CancellationTokenSource(Eventually.Limit);
        await foreach (var message in consumer.ConsumeAsync<byte[]>(cancellationToken: limit.Token))
        {
            var id = message.Headers is { } h && h.TryGetValue("Nats-Msg-Id", out var v) ? v.ToString() : null;
            messages.Add((message.Subject, id, System.Text.Encoding.UTF8.GetString(message.Data ?? [])));
            if (messages.Count == count) break;
        }
        return messages;
    }

    public async Task<long> CountAsync(string stream) => (long)(await JetStream.GetStreamAsync(stream)).Info.State.Messages;

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
