using System.Security.Cryptography;
using System.Text;
using Lockstep.Configuration;
using Lockstep.Events;
using Lockstep.Intake;
using Microsoft.Extensions.Logging;

namespace Lockstep.Sources;

/// <summary>
/// Runs one broker subscription for the engine's lifetime: starts it, and when it fails (broker down, connection lost)
/// starts it again after a growing, capped backoff. It is the subscription's sink: each message is mapped with the source's
/// shape, its event id is the source and the broker's message id (or a content hash), and it is committed through the
/// intake's group commit before the subscription may acknowledge it.
/// </summary>
internal sealed partial class SubscriptionRunner : ISubscriptionSink, IAsyncDisposable
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);
    private readonly SourceDefinition _definition;
    private readonly ISubscription _subscription;
    private readonly IntakeQueue _intake;
    private readonly ItemMapper _mapper;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SecretRedactor _secrets;
    private readonly UTF8Encoding _strict = new(false, true);
    private readonly Func<string, Event, Event>? _stamp;
    private long _received;
    private long _accepted;
    private long _rejected;
    private DateTimeOffset? _lastAt;
    private string? _lastError;
    private volatile string _state = "starting";

    public SubscriptionRunner(SourceDefinition definition, ISubscription subscription, IntakeQueue intake, MappingLimits limits, TimeProvider time,
        ILogger logger, SecretRedactor secrets, Func<string, Event, Event>? stamp = null)
    {
        _stamp = stamp;
        _definition = definition;
        _subscription = subscription;
        _intake = intake;
        _mapper = new ItemMapper(definition.Name, definition.Shape, limits);
        _time = time;
        _logger = logger;
        _secrets = secrets;
    }

    public string Name => _definition.Name;

    /// <summary>Raised after each committed new event, so the engine can count it and wake delivery.</summary>
    public event Action? Accepted;

    public SourceStatus Status => new(_state, _subscription.Describe, _lastAt, null,
        $"{Interlocked.Read(ref _received)} received, {Interlocked.Read(ref _accepted)} new", _lastError, null,
        Interlocked.Read(ref _received), Interlocked.Read(ref _accepted), Interlocked.Read(ref _rejected));

    /// <summary>Keeps the subscription running until <paramref name="stopping"/> fires.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var delay = FirstRetry;
        while (!stopping.IsCancellationRequested)
        {
            var receivedBefore = Interlocked.Read(ref _received);
            try
            {
                _state = "ok";
                await _subscription.RunAsync(this, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                _state = "failing";
                _lastError = _secrets.Redact($"{e.GetType().Name}: {e.Message}");
                Failed(_logger, _definition.Name, _lastError ?? "", delay);
            }
            if (Interlocked.Read(ref _received) > receivedBefore) delay = FirstRetry;
            try
            {
                await Task.Delay(delay, _time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetry.Ticks));
        }
        _state = "stopped";
    }

    public async ValueTask<SubscriptionAccept> AcceptAsync(ReadOnlyMemory<byte> body, string? messageId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _received);
        _lastAt = _time.GetUtcNow();
        string text;
        try
        {
            text = _strict.GetString(body.Span);
        }
        catch (DecoderFallbackException)
        {
            return Reject("the body is not UTF-8");
        }
        // Without a broker message id the content is the identity: a redelivered copy hashes the same.
        var id = string.IsNullOrEmpty(messageId) ? "#" + Convert.ToHexStringLower(SHA256.HashData(body.Span))[..32] : messageId;
        var (e, _, error) = _mapper.Map(text, id);
        if (error is not null) return Reject(error);
        if (e is null) return SubscriptionAccept.Duplicate; // the map dropped it: nothing to journal
        // A side of a two-way pair: marked with its origin and hash, so its own writes coming back are echoes.
        var result = await _intake.PublishAsync([_stamp is null ? e : _stamp(_definition.Name, e)], cancellationToken).ConfigureAwait(false);
        // Checkpoint: committed (or already journaled); the subscription may now acknowledge the message.
        _state = "ok";
        _lastError = null;
        if (result.Accepted == 0) return SubscriptionAccept.Duplicate;
        Interlocked.Increment(ref _accepted);
        Accepted?.Invoke();
        return SubscriptionAccept.Accepted;
    }

    private SubscriptionAccept Reject(string error)
    {
        Interlocked.Increment(ref _rejected);
        _lastError = _secrets.Redact($"rejected a message: {error}");
        Rejected(_logger, _definition.Name, _lastError ?? "");
        return SubscriptionAccept.Rejected;
    }

    public async ValueTask DisposeAsync()
    {
        _mapper.Dispose();
        await _subscription.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(3301, LogLevel.Warning, "Subscription source {Source} failed ({Error}); starting it again in {Delay}")]
    private static partial void Failed(ILogger logger, string source, string error, TimeSpan delay);

    [LoggerMessage(3302, LogLevel.Warning, "Subscription source {Source}: {Reason}")]
    private static partial void Rejected(ILogger logger, string source, string reason);
}
