using System.Threading.RateLimiting;
using Lockstep.Configuration;
using Lockstep.Connectors;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Lockstep.Deliveries;

/// <summary>
/// One system's lane: its connector behind a Polly pipeline (circuit breaker around an attempt timeout), its concurrency
/// limit, and how much more the delivery loop may claim for it now. While the circuit is open nothing is claimed; once
/// the break is over one delivery is claimed as the probe. The circuit counts the system's failures, not one record's:
/// an attempt whose failure would be the record's own (<see cref="RecordFailures"/>) runs outside it, with the timeout
/// only, and a request that cannot be built is permanent for its record and never counted. How many requests run at once
/// adapts to the target (<see cref="Deliveries.ConcurrencyLimit"/>): fewer when it answers 429 or Retry-After or times out.
/// </summary>
internal sealed partial class SystemLane : IAsyncDisposable
{
    private readonly ConcurrencyLimit _slots;
    private readonly TokenBucketRateLimiter? _rate;
    private readonly ResiliencePipeline<ConnectorResult> _pipeline;
    private readonly ResiliencePipeline<ConnectorResult> _outsideCircuit;
    private readonly RecordFailures _failures;
    private readonly CircuitBreakerManualControl _manual = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private int _claimed;
    private long _openUntilTicks = -1;
    private int _state;

    private readonly int _claimAhead;

    public SystemLane(SystemDefinition system, IConnector connector, TimeProvider time, ILogger logger, int claimAhead)
    {
        _claimAhead = claimAhead;
        System = system;
        Connector = connector;
        _time = time;
        _logger = logger;
        _slots = new ConcurrencyLimit(system.Concurrency, time);
        if (system.RateLimit is { } limit)
        {
            _rate = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = limit.Requests,
                TokensPerPeriod = limit.Requests,
                ReplenishmentPeriod = limit.Per,
                AutoReplenishment = true,
                // Waiters are the deliveries claimed for this lane (bounded by its claim-ahead), served in order.
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            });
        }
        var circuit = system.Circuit;
        _pipeline = new ResiliencePipelineBuilder<ConnectorResult> { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<ConnectorResult>
            {
                ManualControl = _manual,
                FailureRatio = circuit.FailureRatio,
                MinimumThroughput = circuit.MinimumThroughput,
                SamplingDuration = circuit.SamplingDuration,
                BreakDuration = circuit.BreakDuration,
                // Each failed probe doubles the pause, up to the maximum: a long outage costs a handful of probes.
                BreakDurationGenerator = args => ValueTask.FromResult(TimeSpan.FromMilliseconds(Math.Min(
                    circuit.BreakDuration.TotalMilliseconds * Math.Pow(2, Math.Min(args.HalfOpenAttempts, 20)),
                    circuit.MaxBreakDuration.TotalMilliseconds))),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e
                    ? e is not OperationCanceledException && !ConnectorResult.IsRequestFault(e)
                    : args.Outcome.Result.Kind == ResultKind.Transient),
                OnOpened = args =>
                {
                    Volatile.Write(ref _openUntilTicks, (_time.GetUtcNow() + args.BreakDuration).UtcTicks);
                    Volatile.Write(ref _state, (int)CircuitState.Open);
                    CircuitOpened(_logger, System.Name, args.BreakDuration);
                    CircuitChanged?.Invoke(System.Name, "opened");
                    return ValueTask.CompletedTask;
                },
                OnHalfOpened = _ =>
                {
                    Volatile.Write(ref _state, (int)CircuitState.HalfOpen);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    var wasOpen = Volatile.Read(ref _state) != (int)CircuitState.Closed;
                    Volatile.Write(ref _state, (int)CircuitState.Closed);
                    Volatile.Write(ref _openUntilTicks, -1);
                    if (wasOpen)
                    {
                        CircuitClosed(_logger, System.Name);
                        CircuitChanged?.Invoke(System.Name, "closed");
                    }
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(system.Timeout)
            .Build();
        _outsideCircuit = new ResiliencePipelineBuilder<ConnectorResult> { TimeProvider = time }.AddTimeout(system.Timeout).Build();
        _failures = new RecordFailures(circuit.SamplingDuration, time);
    }

    /// <summary>Raised when the circuit opens or closes, with the new state's name.</summary>
    public event Action<string, string>? CircuitChanged;

    public SystemDefinition System { get; }

    public IConnector Connector { get; }

    public string Name => System.Name;

    public int Claimed => Volatile.Read(ref _claimed);

    /// <summary>Deliveries waiting for the rate limit to let them go.</summary>
    public long WaitingForRate => _rate?.GetStatistics()?.CurrentQueuedCount ?? 0;

    public CircuitState Circuit(DateTimeOffset now)
    {
        var state = (CircuitState)Volatile.Read(ref _state);
        return state == CircuitState.Open && OpenUntil is { } until && now >= until ? CircuitState.HalfOpen : state;
    }

    public DateTimeOffset? OpenUntil
    {
        get
        {
            var ticks = Volatile.Read(ref _openUntilTicks);
            return ticks < 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// How many more deliveries to claim now: up to a batch ahead of the requests (at least twice the concurrency), so
    /// requests keep flowing while outcomes commit and each claim and commit carries many records.
    /// </summary>
    public int Capacity(DateTimeOffset now) => Circuit(now) switch
    {
        CircuitState.Closed => Math.Max(0, Math.Max(System.Concurrency * 2, _claimAhead) - Claimed),
        CircuitState.HalfOpen => Claimed == 0 ? 1 : 0,
        _ => 0,
    };

    /// <summary>An operator's reset: the circuit closes now and its failure count starts afresh; the next failures may open it again.</summary>
    public Task ResetCircuitAsync(CancellationToken cancellationToken) => _manual.CloseAsync(cancellationToken);

    public void OnClaimed(int count) => Interlocked.Add(ref _claimed, count);

    public void OnCompleted() => Interlocked.Decrement(ref _claimed);

    /// <summary>
    /// Runs one request within the concurrency limit, circuit and timeout; never throws but for cancellation. A delivery
    /// still waiting for a slot when <paramref name="stopStarting"/> fires is not sent: it comes back as due now.
    /// </summary>
    public async ValueTask<LaneResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken stopStarting, CancellationToken cancellationToken)
    {
        if (!await EnterAsync(stopStarting).ConfigureAwait(false)) return new LaneResult(default, TimeSpan.Zero);
        using var activity = Telemetry.LockstepActivities.Source.StartActivity("lockstep.connector");
        activity?.SetTag("lockstep.system", System.Name);
        activity?.SetTag("lockstep.connector", System.Type);
        // While the circuit is open every attempt goes through it (and is turned back); otherwise a record failing on its
        // own is tried outside it, so its outcome neither opens nor closes the circuit.
        var circuit = Circuit(_time.GetUtcNow());
        var outside = circuit != CircuitState.Open && _failures.IsOwn(delivery, circuit == CircuitState.Closed);
        try
        {
            var result = await (outside ? _outsideCircuit : _pipeline).ExecuteAsync(
                static (state, token) => state.Connector.ApplyAsync(state.Delivery, state.Flow, state.Body, token),
                (Connector, Delivery: delivery, Flow: flow, Body: body),
                cancellationToken).ConfigureAwait(false);
            if (result.Kind == ResultKind.Success) _failures.Succeeded(delivery);
            else if (result.Kind == ResultKind.Transient && !outside) _failures.Failed(delivery);
            Adapt(result);
            return new LaneResult(result, null);
        }
        catch (BrokenCircuitException e)
        {
            return new LaneResult(default, e.RetryAfter ?? System.Circuit.BreakDuration);
        }
        catch (TimeoutRejectedException)
        {
            if (!outside) _failures.Failed(delivery);
            _slots.Overloaded();
            return new LaneResult(ConnectorResult.Transient($"timed out after {Durations.Format(System.Timeout)}"), null);
        }
        catch (Exception e) when (ConnectorResult.IsRequestFault(e))
        {
            return new LaneResult(ConnectorResult.Unsendable($"{e.GetType().Name}: {e.Message}"), null);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (!outside) _failures.Failed(delivery);
            return new LaneResult(ConnectorResult.Transient($"{e.GetType().Name}: {e.Message}"), null);
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>
    /// Runs one batch request (one slot, one rate-limit token, one attempt for the circuit and the timeout) and returns
    /// one result per item; like <see cref="ApplyAsync"/> it never throws but for cancellation.
    /// </summary>
    public async ValueTask<IReadOnlyList<LaneResult>> ApplyBatchAsync(IBatchConnector connector, IReadOnlyList<BatchItem> items, FlowDefinition flow,
        CancellationToken stopStarting, CancellationToken cancellationToken)
    {
        if (!await EnterAsync(stopStarting).ConfigureAwait(false)) return Same(items.Count, new LaneResult(default, TimeSpan.Zero));
        using var activity = Telemetry.LockstepActivities.Source.StartActivity("lockstep.connector");
        activity?.SetTag("lockstep.system", System.Name);
        activity?.SetTag("lockstep.connector", System.Type);
        try
        {
            var call = new BatchCall(connector, items, flow);
            // The circuit sees the batch as one request: a failure if any record's result is transient.
            await _pipeline.ExecuteAsync(static async (call, token) =>
            {
                var results = await call.Connector.ApplyBatchAsync(call.Items, call.Flow, token).ConfigureAwait(false);
                if (results.Count != call.Items.Count)
                    throw new InvalidOperationException($"the connector returned {results.Count} results for {call.Items.Count} records");
                call.Results = results;
                return results.FirstOrDefault(r => r.Kind == ResultKind.Transient) is { Kind: ResultKind.Transient } transient ? transient : ConnectorResult.Success();
            }, call, cancellationToken).ConfigureAwait(false);
            var outcomes = new LaneResult[items.Count];
            for (var i = 0; i < outcomes.Length; i++) outcomes[i] = new LaneResult(call.Results![i], null);
            if (call.Results!.Any(r => r.Kind == ResultKind.Success)) _failures.Succeeded(null);
            if (call.Results!.Any(IsOverload)) _slots.Overloaded();
            else if (call.Results!.Any(r => r.Kind == ResultKind.Success)) _slots.Succeeded();
            return outcomes;
        }
        catch (BrokenCircuitException e)
        {
            return Same(items.Count, new LaneResult(default, e.RetryAfter ?? System.Circuit.BreakDuration));
        }
        catch (TimeoutRejectedException)
        {
            _slots.Overloaded();
            return Same(items.Count, new LaneResult(ConnectorResult.Transient($"timed out after {Durations.Format(System.Timeout)}"), null));
        }
        catch (Exception e) when (ConnectorResult.IsRequestFault(e))
        {
            return Same(items.Count, new LaneResult(ConnectorResult.Unsendable($"{e.GetType().Name}: {e.Message}"), null));
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return Same(items.Count, new LaneResult(ConnectorResult.Transient($"{e.GetType().Name}: {e.Message}"), null));
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>The concurrency limit now (adaptive: see <see cref="ConcurrencyLimit"/>).</summary>
    public int Limit => _slots.Current;

    private static bool IsOverload(ConnectorResult result) =>
        result.Kind == ResultKind.Transient && (result.StatusCode == 429 || result.RetryAfter is not null);

    private void Adapt(ConnectorResult result)
    {
        if (result.Kind == ResultKind.Success) _slots.Succeeded();
        else if (IsOverload(result)) _slots.Overloaded();
    }

    private static LaneResult[] Same(int count, LaneResult result)
    {
        var results = new LaneResult[count];
        Array.Fill(results, result);
        return results;
    }

    // Waits for a rate-limit token, then a concurrency slot; false when stopping first. Waiting for a token is not an
    // attempt: it comes before the attempt timeout and the circuit count.
    private async ValueTask<bool> EnterAsync(CancellationToken stopStarting)
    {
        try
        {
            if (_rate is not null)
            {
                using var lease = await _rate.AcquireAsync(1, stopStarting).ConfigureAwait(false);
            }
            await _slots.WaitAsync(stopStarting).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (stopStarting.IsCancellationRequested)
        {
            return false;
        }
    }

    private sealed class BatchCall(IBatchConnector connector, IReadOnlyList<BatchItem> items, FlowDefinition flow)
    {
        public IBatchConnector Connector { get; } = connector;

        public IReadOnlyList<BatchItem> Items { get; } = items;

        public FlowDefinition Flow { get; } = flow;

        public IReadOnlyList<ConnectorResult>? Results { get; set; }
    }

    public ValueTask DisposeAsync()
    {
        _slots.Dispose();
        _rate?.Dispose();
        return Connector.DisposeAsync();
    }

    [LoggerMessage(2101, LogLevel.Warning, "Circuit for {System} opened: deliveries paused for {BreakDuration}, then one probe")]
    private static partial void CircuitOpened(ILogger logger, string system, TimeSpan breakDuration);

    [LoggerMessage(2102, LogLevel.Information, "Circuit for {System} closed: a probe succeeded, deliveries resume")]
    private static partial void CircuitClosed(ILogger logger, string system);
}
