using Lockstep.Configuration;
using Lockstep.Events;
using Lockstep.Intake;
using Microsoft.Extensions.Logging;

namespace Lockstep.Sources;

/// <summary>
/// A <c>type: webhook</c> source: verifies each push over its raw body, maps it to an event whose id is the source and
/// the <c>webhook-id</c> (so a replay is recognised), and answers only after the journal commit.
/// </summary>
internal sealed partial class WebhookReceiver(SourceDefinition definition, IntakeQueue intake, MappingLimits limits, TimeProvider time, ILogger logger,
    Func<string, Event, Event>? stamp = null) : IDisposable
{
    /// <summary>The longest <c>webhook-id</c> taken, the same limit as an event id on the API.</summary>
    public const int MaxIdLength = 256;

    private readonly ItemMapper _mapper = new(definition.Name, definition.Shape, limits);
    private long _received;
    private long _accepted;
    private long _rejected;
    private DateTimeOffset? _lastAt;
    private string? _lastError;

    public string Name => definition.Name;

    public SourceStatus Status => new(_rejected > 0 && _lastError is not null ? "rejecting" : "ok", "webhook", _lastAt, null,
        $"{Interlocked.Read(ref _received)} received, {Interlocked.Read(ref _accepted)} new", _lastError, null,
        Interlocked.Read(ref _received), Interlocked.Read(ref _accepted), Interlocked.Read(ref _rejected));

    public async Task<WebhookOutcome> ReceiveAsync(Func<string, string?> header, byte[] body, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _received);
        _lastAt = time.GetUtcNow();
        if (WebhookCheck.Verify(definition.Verification!, header, body, time.GetUtcNow()) is { } invalid)
        {
            Interlocked.Increment(ref _rejected);
            _lastError = $"rejected a push: {invalid}";
            Rejected(logger, definition.Name, invalid);
            return new WebhookOutcome(401, invalid, false);
        }
        string text;
        try
        {
            text = new System.Text.UTF8Encoding(false, true).GetString(body);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return Bad("the body is not UTF-8");
        }
        var (idHeader, id) = header("webhook-id") is { } webhookId ? ("webhook-id", webhookId) : ("svix-id", header("svix-id"));
        if (id is { Length: > MaxIdLength }) return Bad($"{idHeader} must be at most {MaxIdLength} characters (it has {id.Length})", idHeader);
        if (id is { Length: 0 }) return Bad($"{idHeader} must not be empty", idHeader);
        var (e, _, error) = _mapper.Map(text, id);
        if (error is not null) return Bad(error);
        if (e is null) return new WebhookOutcome(202, null, false);
        var result = await intake.PublishAsync([stamp is null ? e : stamp(definition.Name, e)], cancellationToken).ConfigureAwait(false);
        if (result.Duplicates > 0) return new WebhookOutcome(200, null, true);
        Interlocked.Increment(ref _accepted);
        _lastError = null;
        return new WebhookOutcome(202, null, false);
    }

    private WebhookOutcome Bad(string error, string? field = null)
    {
        Interlocked.Increment(ref _rejected);
        _lastError = $"rejected a push: {error}";
        return new WebhookOutcome(400, error, false, field);
    }

    public void Dispose() => _mapper.Dispose();

    [LoggerMessage(3201, LogLevel.Warning, "Webhook source {Source} rejected a push: {Reason}")]
    private static partial void Rejected(ILogger logger, string source, string reason);
}
