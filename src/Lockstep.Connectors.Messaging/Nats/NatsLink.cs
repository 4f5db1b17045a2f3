using System.Collections.Concurrent;
using Lockstep.Connectors.Messaging.Topics;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Lockstep.Connectors.Messaging.Nats;

/// <summary>
/// One lazily opened NATS connection with its JetStream context. The client reconnects by itself after a drop; a
/// connection that could not be opened at all is thrown away and opened again on next use.
/// </summary>
internal sealed class NatsLink(Uri url, string name, TimeSpan timeout) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private NatsConnection? _connection;
    private NatsJSContext? _jetStream;
    private readonly ConcurrentQueue<string> _violations = new();

    public string Shown { get; } = BrokerUrl.Shown(url);

    public async ValueTask<NatsJSContext> JetStreamAsync(Func<NatsJSContext, CancellationToken, ValueTask>? onOpen, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _jetStream) is { } ready) return ready;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_jetStream is not null) return _jetStream;
            var options = NatsOpts.Default with
            {
                Url = Shown,
                Name = name,
                RequestTimeout = timeout,
                CommandTimeout = timeout,
                ConnectTimeout = timeout,
                AuthOpts = BrokerUrl.User(url) is { } user ? NatsAuthOpts.Default with { Username = user, Password = BrokerUrl.Password(url) } : NatsAuthOpts.Default,
            };
            var connection = new NatsConnection(options);
            connection.ServerError += (sender, e) =>
            {
                // The server refuses a publish it does not permit with an -ERR and drops the message: the publish itself only times out.
                if (e.Kind == NatsServerErrorKind.PermissionsViolation) _violations.Enqueue(e.Error);
                // Only the newest refusals are kept.
                while (_violations.Count > 64 && _violations.TryDequeue(out var _))
                {
                }
                return ValueTask.CompletedTask;
            };
            try
            {
                await connection.ConnectAsync().ConfigureAwait(false);
                var jetStream = new NatsJSContext(connection);
                if (onOpen is not null) await onOpen(jetStream, cancellationToken).ConfigureAwait(false);
                _connection = connection;
                Volatile.Write(ref _jetStream, jetStream);
                return jetStream;
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Forgets refusals seen so far for <paramref name="subject"/>, before publishing to it again.</summary>
    public void ClearRefusal(string subject)
    {
        if (Refusal(subject) is null) return;
        var kept = _violations.Where(v => !Names(v, subject)).ToList();
        _violations.Clear();
        foreach (var v in kept) _violations.Enqueue(v);
    }

    /// <summary>The server's permissions violation for a publish to <paramref name="subject"/>, if it reported one.</summary>
    public string? Refusal(string subject) => _violations.FirstOrDefault(v => Names(v, subject));

    private static bool Names(string violation, string subject) =>
        violation.Contains("Publish to \"" + subject + "\"", StringComparison.OrdinalIgnoreCase);

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null) await _connection.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }
}
