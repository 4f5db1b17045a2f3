using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Intake;
using Lockstep.Journal;
using Lockstep.Mapping;
using Lockstep.Records;
using Microsoft.Extensions.Logging;

namespace Lockstep.Deliveries;

/// <summary>
/// Claims due deliveries in batches, runs them concurrently within each system's limits (one record version in flight
/// per flow and record, by the journal's construction), and commits their outcomes in batches. Waiting retries live in
/// the journal as a due time, never in memory.
/// </summary>
internal sealed partial class DeliveryLoop : IDisposable
{
    private static readonly TimeSpan MaxIdleWait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxCommitBackoff = TimeSpan.FromSeconds(5);

    private readonly IDeliveryQueue _journal;
    private readonly IReadOnlyDictionary<string, FlowRuntime> _flows;
    private readonly IReadOnlyList<SystemLane> _lanes;
    private readonly WorkSignal _work;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SecretRedactor _secrets;
    private readonly DeliveryOptions _options;
    private readonly IReadOnlySet<string>? _pairFlows;
    private readonly Channel<DeliveryCompletion> _completions = Channel.CreateUnbounded<DeliveryCompletion>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<long, Task> _running = new();
    private readonly CancellationTokenSource _stopClaiming = new();
    private readonly CancellationTokenSource _abortRequests = new();
    private readonly CancellationTokenSource _giveUpCommits = new();
    private readonly Status.JournalHealth _health;
    private int _committing;
    private Task? _dispatcher;
    private Task? _completer;

    public DeliveryLoop(IDeliveryQueue journal, IReadOnlyDictionary<string, FlowRuntime> flows, IReadOnlyList<SystemLane> lanes, WorkSignal work,
        TimeProvider time, ILogger logger, SecretRedactor secrets, DeliveryOptions options, IReadOnlySet<string>? pairFlows = null,
        Status.JournalHealth? health = null)
    {
        _health = health ?? new Status.JournalHealth(time);
        _pairFlows = pairFlows;
        _journal = journal;
        _flows = flows;
        _lanes = lanes;
        _work = work;
        _time = time;
        _logger = logger;
        _secrets = secrets;
        _options = options;
        _batches = Batches(flows, options.BatchSize);
    }

    /// <summary>Operators' pauses: a paused system is not claimed for, a paused flow's claimed deliveries are put back untouched.</summary>
    public Control.Pauses? Pauses { get; init; }

    /// <summary>How long a paused flow's delivery waits before it is looked at again (resuming makes it due at once).</summary>
    internal static readonly TimeSpan PausedRecheck = TimeSpan.FromHours(1);

    /// <summary>Raised after each committed batch of outcomes (for metrics and live views).</summary>
    public event Action<IReadOnlyList<DeliveryCompletion>>? Committed;

    /// <summary>Outcomes known but not yet committed: the batch being committed and those queued behind it.</summary>
    public long Uncommitted => Volatile.Read(ref _committing) + (_completions.Reader.CanCount ? _completions.Reader.Count : 0);

    public void Start()
    {
        _completer = Task.Run(CompleteLoopAsync);
        _dispatcher = Task.Run(DispatchLoopAsync);
    }

    /// <summary>Stops claiming, lets in-flight requests finish until <paramref name="cancellationToken"/> fires, commits their outcomes.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopClaiming.CancelAsync().ConfigureAwait(false);
        if (_dispatcher is not null) await _dispatcher.ConfigureAwait(false);
        using (cancellationToken.Register(() => _abortRequests.Cancel()))
        {
            try
            {
                await Task.WhenAll(_running.Values).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Aborted requests stay in flight in the journal and are due again at the next start.
            }
        }
        _completions.Writer.TryComplete();
        // While the journal cannot be written, commits are retried until the stop's deadline; what is left then stays in
        // flight in the journal and is redone at the next start.
        using (cancellationToken.Register(() => _giveUpCommits.Cancel()))
        {
            if (_completer is not null) await _completer.ConfigureAwait(false);
        }
    }

    private async Task DispatchLoopAsync()
    {
        var token = _stopClaiming.Token;
        var quotas = new List<ClaimQuota>(_lanes.Count);
        while (!token.IsCancellationRequested)
        {
            try
            {
                _work.Reset();
                var now = _time.GetUtcNow();
                quotas.Clear();
                foreach (var lane in _lanes)
                {
                    if (Pauses?.Has(Control.PauseKind.System, lane.Name) == true) continue;
                    var capacity = lane.Capacity(now);
                    if (capacity > 0) quotas.Add(new ClaimQuota(lane.Name, Math.Min(capacity, _options.BatchSize)));
                }
                if (quotas.Count > 0)
                {
                    var claimed = await ClaimAsync(quotas, now, token).ConfigureAwait(false);
                    foreach (var delivery in claimed) Launch(delivery);
                    if (claimed.Count > 0) continue;
                }
                await WaitForWorkAsync(now, quotas, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                LoopFailed(_logger, e.GetType().Name, _secrets.Redact(e.Message) ?? "");
                await DelayAsync(TimeSpan.FromSeconds(1), token).ConfigureAwait(false);
            }
        }
    }

    private async Task<IReadOnlyList<Delivery>> ClaimAsync(List<ClaimQuota> quotas, DateTimeOffset now, CancellationToken token)
    {
        IReadOnlyList<Delivery> claimed;
        try
        {
            claimed = await _journal.ClaimDueAsync(quotas, now, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
        {
            _health.Failed(Status.JournalWriter.Claims, $"claims: {e.GetType().Name}: {_secrets.Redact(e.Message)}");
            throw;
        }
        _health.Succeeded(Status.JournalWriter.Claims);
        return claimed;
    }

    private async Task WaitForWorkAsync(DateTimeOffset now, List<ClaimQuota> quotas, CancellationToken token)
    {
        DateTimeOffset? wake = null;
        if (quotas.Count > 0) wake = await _journal.NextDueAsync(quotas.ConvertAll(q => q.System), token).ConfigureAwait(false);
        foreach (var lane in _lanes)
        {
            if (lane.OpenUntil is { } until && until > now && (wake is null || until < wake)) wake = until;
        }
        var signal = _work.WaitAsync();
        // Measured from the clock now, not from the start of the pass: time may have moved while the journal answered.
        now = _time.GetUtcNow();
        if (wake is { } due && due <= now) return;
        var wait = wake is { } at ? at - now : MaxIdleWait;
        if (wait > MaxIdleWait) wait = MaxIdleWait;
        using var cancelDelay = CancellationTokenSource.CreateLinkedTokenSource(token);
        var delay = Task.Delay(wait, _time, cancelDelay.Token);
        await Task.WhenAny(signal, delay).ConfigureAwait(false);
        await cancelDelay.CancelAsync().ConfigureAwait(false);
        token.ThrowIfCancellationRequested();
    }

    private async Task DelayAsync(TimeSpan wait, CancellationToken token)
    {
        try
        {
            await Task.Delay(wait, _time, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void Launch(Delivery delivery)
    {
        // The journal only hands out deliveries of configured flows.
        var flow = _flows[delivery.Flow];
        flow.Lane.OnClaimed(1);
        if (Pauses?.Has(Control.PauseKind.Flow, delivery.Flow) == true)
        {
            // Checkpoint: put back pending with its attempts untouched and no attempt recorded; resuming makes it due now.
            var now = _time.GetUtcNow();
            _completions.Writer.TryWrite(new DeliveryCompletion(delivery, CompletionKind.Deferred, now, TimeSpan.Zero, null, "paused", now + PausedRecheck));
            return;
        }
        if (_batches.Count > 0 && TryBatch(delivery, flow)) return;
        // RunAsync yields before its first step, so it is registered here before it can unregister itself.
        _running[delivery.Id] = RunAsync(delivery, flow);
    }

    private async Task RunAsync(Delivery delivery, FlowRuntime flow)
    {
        await Task.Yield();
        try
        {
            await RunOnceAsync(delivery, flow).ConfigureAwait(false);
        }
        finally
        {
            _running.TryRemove(delivery.Id, out _);
        }
    }

    private async Task RunOnceAsync(Delivery delivery, FlowRuntime flow)
    {
        // A delivery runs long after its publish, often in another process lifetime: linked to the intake span, not its child.
        ActivityLink[]? links = delivery.TraceParent is { } parent && ActivityContext.TryParse(parent, null, out var intake) ? [new ActivityLink(intake)] : null;
        using var activity = Telemetry.LockstepActivities.Source.StartActivity("lockstep.delivery", ActivityKind.Internal, parentContext: default, links: links);
        if (activity is not null)
        {
            activity.SetTag("lockstep.flow", delivery.Flow);
            activity.SetTag("lockstep.system", delivery.System);
            activity.SetTag("lockstep.entity", delivery.Entity);
            activity.SetTag("lockstep.key", delivery.Key);
            activity.SetTag("lockstep.version", delivery.Version);
            activity.SetTag("lockstep.attempt", delivery.Attempt);
        }
        var startedAt = _time.GetUtcNow();
        var started = _time.GetTimestamp();
        DeliveryCompletion completion;
        try
        {
            completion = await AttemptAsync(delivery, flow, startedAt, started).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abortRequests.IsCancellationRequested)
        {
            // Checkpoint: nothing recorded; the delivery stays in flight in the journal and is due again at the next start.
            flow.Lane.OnCompleted();
            return;
        }
        catch (Exception e)
        {
            completion = Retry(delivery, flow, startedAt, _time.GetElapsedTime(started), ConnectorResult.Transient($"{e.GetType().Name}: {e.Message}"));
        }
        if (activity is not null)
        {
            activity.SetTag("lockstep.outcome", completion.Kind.ToString().ToLowerInvariant());
            if (completion.StatusCode is { } status) activity.SetTag("http.response.status_code", status);
            if (completion.Kind is CompletionKind.Retry or CompletionKind.Dead) activity.SetStatus(System.Diagnostics.ActivityStatusCode.Error, completion.Error);
        }
        _completions.Writer.TryWrite(completion);
    }

    private async ValueTask<DeliveryCompletion> AttemptAsync(Delivery delivery, FlowRuntime flow, DateTimeOffset startedAt, long started)
    {
        var body = ReadOnlyMemory<byte>.Empty;
        if (delivery.Op == RecordOp.Upsert)
        {
            var mapped = flow.Scripts.Map(delivery);
            switch (mapped.Status)
            {
                case MapStatus.Failed:
                    return Dead(delivery, startedAt, _time.GetElapsedTime(started), null, mapped.Error);
                case MapStatus.Skipped:
                    return new DeliveryCompletion(delivery, CompletionKind.Skipped, startedAt, _time.GetElapsedTime(started), null, "skipped by filter or map", startedAt);
            }
            body = mapped.Body;
        }

        var outcome = await flow.Lane.ApplyAsync(delivery, flow.Definition, body, _stopClaiming.Token, _abortRequests.Token).ConfigureAwait(false);
        var duration = _time.GetElapsedTime(started);
        if (outcome.CircuitRetryAfter is { } wait)
            return new DeliveryCompletion(delivery, CompletionKind.Deferred, startedAt, duration, null, wait == TimeSpan.Zero ? "stopping" : "circuit open", _time.GetUtcNow() + wait);

        return Completed(delivery, flow, outcome.Result, startedAt, duration, body);
    }

    private DeliveryCompletion Completed(Delivery delivery, FlowRuntime flow, ConnectorResult result, DateTimeOffset startedAt, TimeSpan duration, ReadOnlyMemory<byte> body) => result.Kind switch
    {
        ResultKind.Success => new DeliveryCompletion(delivery, CompletionKind.Delivered, startedAt, duration, result.StatusCode, null, startedAt)
        {
            WrittenHash = WrittenHash(delivery, body),
        },
        ResultKind.Skipped => new DeliveryCompletion(delivery, CompletionKind.Skipped, startedAt, duration, null, result.Error, startedAt),
        ResultKind.Permanent => Dead(delivery, startedAt, duration, result.StatusCode, result.Error),
        _ => Retry(delivery, flow, startedAt, duration, result),
    };

    /// <summary>For a two-way pair's flow: what the system now holds, so its report of our own write is recognised as an echo.</summary>
    private string? WrittenHash(Delivery delivery, ReadOnlyMemory<byte> body)
    {
        if (_pairFlows?.Contains(delivery.Flow) != true) return null;
        if (delivery.Op == RecordOp.Delete) return Conflicts.RecordJson.DeleteHash;
        try
        {
            return Conflicts.RecordJson.Hash(body.Span);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private DeliveryCompletion Retry(Delivery delivery, FlowRuntime flow, DateTimeOffset startedAt, TimeSpan duration, ConnectorResult result)
    {
        var retry = flow.Definition.Retry;
        if (delivery.Attempt >= retry.MaxAttempts)
            return Dead(delivery, startedAt, duration, result.StatusCode, $"gave up after {delivery.Attempt} attempts: {result.Error}");
        var delay = Backoff.Delay(retry, delivery.Attempt, result.RetryAfter, Random.Shared.NextDouble());
        var dueAt = _time.GetUtcNow() + delay;
        Retrying(_logger, delivery.System, delivery.Entity, delivery.Key, delivery.Version, delivery.Attempt, dueAt);
        return new DeliveryCompletion(delivery, CompletionKind.Retry, startedAt, duration, result.StatusCode, _secrets.Redact(result.Error), dueAt);
    }

    private DeliveryCompletion Dead(Delivery delivery, DateTimeOffset startedAt, TimeSpan duration, int? status, string? error)
    {
        var reason = _secrets.Redact(error);
        DeadLettered(_logger, delivery.Flow, delivery.Entity, delivery.Key, delivery.Version, DeadReason(status, reason));
        return new DeliveryCompletion(delivery, CompletionKind.Dead, startedAt, duration, status, reason, startedAt);
    }

    private async Task CompleteLoopAsync()
    {
        var batch = new List<DeliveryCompletion>(_options.BatchSize);
        var reader = _completions.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < _options.BatchSize * 4 && reader.TryRead(out var completion)) batch.Add(completion);
            Volatile.Write(ref _committing, batch.Count);
            var committed = await CommitAsync(batch).ConfigureAwait(false);
            Volatile.Write(ref _committing, 0);
            foreach (var completion in batch) _flows[completion.Delivery.Flow].Lane.OnCompleted();
            if (!committed) continue;
            try
            {
                Committed?.Invoke(batch.ToArray());
            }
            catch (Exception e)
            {
                // A listener's bug (metrics, notices) must not end the loop that commits every outcome.
                LoopFailed(_logger, e.GetType().Name, _secrets.Redact(e.Message) ?? "");
            }
            _work.Set();
        }
    }

    /// <summary>Commits the batch, retrying with backoff for as long as it takes; false only when stopping gave up on it.</summary>
    private async Task<bool> CommitAsync(List<DeliveryCompletion> batch)
    {
        for (var failures = 0; ; failures++)
        {
            try
            {
                await _journal.CompleteAsync(batch, CancellationToken.None).ConfigureAwait(false);
                if (failures > 0) CommitRecovered(_logger, batch.Count, failures);
                _health.Succeeded(Status.JournalWriter.Outcomes);
                return true;
            }
            catch (Exception e)
            {
                // Checkpoint: nothing of the batch is committed (one transaction); the outcomes stay here and their deliveries in
                // flight in the journal, so the retry commits each exactly once. Never given up while running: that would stall delivery.
                var error = _secrets.Redact(e.Message) ?? "";
                _health.Failed(Status.JournalWriter.Outcomes, $"outcomes: {e.GetType().Name}: {error}");
                if (failures < 3 || failures % 100 == 0) CompleteFailed(_logger, batch.Count, failures + 1, e.GetType().Name, error);
            }
            try
            {
                await Task.Delay(CommitBackoff(failures), _time, _giveUpCommits.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Checkpoint: stopping past its deadline. The deliveries stay in flight in the journal and are redone at the next start.
                CommitAbandoned(_logger, batch.Count + (_completions.Reader.CanCount ? _completions.Reader.Count : 0));
                while (_completions.Reader.TryRead(out _))
                {
                }
                return false;
            }
        }
    }

    private static TimeSpan CommitBackoff(int failures)
    {
        var delay = TimeSpan.FromMilliseconds(50 * Math.Pow(2, Math.Min(failures, 16)));
        return delay > MaxCommitBackoff ? MaxCommitBackoff : delay;
    }

    public void Dispose()
    {
        _stopClaiming.Dispose();
        _abortRequests.Dispose();
        _giveUpCommits.Dispose();
    }

    [LoggerMessage(2001, LogLevel.Warning, "Delivery to {System} failed for {Entity}/{Key} v{Version}; attempt {Attempt}, next at {DueAt}")]
    private static partial void Retrying(ILogger logger, string system, string entity, string key, long version, int attempt, DateTimeOffset dueAt);

    /// <summary>Why, for the log line: the status when there was an answer, and the error (already redacted), cut to a line's length.</summary>
    private static string DeadReason(int? status, string? error)
    {
        var text = error is { Length: > 0 } ? error.ReplaceLineEndings(" ") : "no error text";
        if (text.Length > 500) text = text[..500] + "…";
        return status is { } code && !text.StartsWith($"HTTP {code}", StringComparison.Ordinal) ? $"HTTP {code}: {text}" : text;
    }

    [LoggerMessage(2002, LogLevel.Error, "Dead letter on {Flow} for {Entity}/{Key} v{Version}: {Reason}")]
    private static partial void DeadLettered(ILogger logger, string flow, string entity, string key, long version, string reason);

    [LoggerMessage(2003, LogLevel.Error, "Delivery loop failed ({Error}: {Message}); continuing")]
    private static partial void LoopFailed(ILogger logger, string error, string message);

    [LoggerMessage(2004, LogLevel.Error, "Committing {Count} delivery outcomes failed (failure {Failures}: {Error}: {Message}); retrying until the journal can be written")]
    private static partial void CompleteFailed(ILogger logger, int count, int failures, string error, string message);

    [LoggerMessage(2005, LogLevel.Information, "Committed {Count} delivery outcomes after {Failures} failed attempts")]
    private static partial void CommitRecovered(ILogger logger, int count, int failures);

    [LoggerMessage(2006, LogLevel.Error, "Stopping: {Count} delivery outcomes could not be committed; their deliveries are redone at the next start")]
    private static partial void CommitAbandoned(ILogger logger, long count);
}
