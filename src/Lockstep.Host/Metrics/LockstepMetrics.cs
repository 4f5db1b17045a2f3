using Lockstep.Deliveries;
using Lockstep.Engines;
using Prometheus;

namespace Lockstep.Host.Metrics;

/// <summary>
/// <c>/metrics</c> in the Prometheus text format. Delivery outcomes and attempt durations are counted as they commit;
/// the engine's totals and the per-system and per-flow gauges (pending, in flight, dead, lag, circuit) are read from
/// status at each scrape. Labels are names only (flow, system, outcome): never keys, payloads or credentials.
/// </summary>
internal sealed class LockstepMetrics
{
    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly Counter _deliveries;
    private readonly Histogram _duration;

    public LockstepMetrics(LockstepEngine engine)
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(_registry);
        _deliveries = factory.CreateCounter("lockstep_deliveries_total", "Delivery attempts by flow, system and outcome (delivered, skipped, retry, dead, deferred).",
            new CounterConfiguration { LabelNames = ["flow", "system", "outcome"] });
        _duration = factory.CreateHistogram("lockstep_attempt_duration_seconds", "Duration of delivery attempts, by system.",
            new HistogramConfiguration { LabelNames = ["system"], Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) });
        var events = factory.CreateCounter("lockstep_events_total", "Events received by intake (publish API, webhooks, polls), by result (accepted, duplicate, stale).",
            new CounterConfiguration { LabelNames = ["result"] });
        var unrouted = factory.CreateCounter("lockstep_unrouted_events_total", "Published events that matched no flow (stored, delivered nowhere), by type.",
            new CounterConfiguration { LabelNames = ["type"] });
        var pending = factory.CreateGauge("lockstep_pending", "Deliveries waiting (due now or retrying later).", new GaugeConfiguration { LabelNames = ["flow", "system"] });
        var inFlight = factory.CreateGauge("lockstep_in_flight", "Deliveries being attempted.", new GaugeConfiguration { LabelNames = ["flow", "system"] });
        var dead = factory.CreateGauge("lockstep_dead", "Dead letters.", new GaugeConfiguration { LabelNames = ["flow", "system"] });
        var lag = factory.CreateGauge("lockstep_lag_seconds", "Age of the oldest undelivered version.", new GaugeConfiguration { LabelNames = ["flow", "system"] });
        var circuit = factory.CreateGauge("lockstep_circuit_state", "A system's circuit: 0 closed, 1 open, 2 half-open.", new GaugeConfiguration { LabelNames = ["system"] });
        var limit = factory.CreateGauge("lockstep_concurrency_limit", "A system's adaptive concurrency limit now (lowered by 429, Retry-After and timeouts; at most its configured concurrency).",
            new GaugeConfiguration { LabelNames = ["system"] });
        var polls = factory.CreateCounter("lockstep_poll_runs_total", "Runs of poll sources.");
        var reconciles = factory.CreateCounter("lockstep_reconcile_runs_total", "Reconciliation runs.");
        var outOfOrder = factory.CreateCounter("lockstep_source_out_of_order_total",
            "Records a poll source reported with new content under a version not newer than the last one seen (delivered as the newest state), by source.",
            new CounterConfiguration { LabelNames = ["source"] });
        var writable = factory.CreateGauge("lockstep_journal_writable", "1 while the journal takes writes, 0 while it cannot be written (disk full, read-only): publishing answers 503 then.");
        var uncommitted = factory.CreateGauge("lockstep_uncommitted_outcomes", "Delivery outcomes waiting in memory to be committed to the journal.");
        var failedWrites = factory.CreateCounter("lockstep_journal_write_failures_total", "Journal writes (intake, outcomes, claims) that failed.");
        engine.Delivered += Record;
        _registry.AddBeforeCollectCallback(async cancellationToken =>
        {
            var counters = engine.Counters;
            events.WithLabels("accepted").IncTo(counters.Accepted);
            events.WithLabels("duplicate").IncTo(counters.Duplicates);
            events.WithLabels("stale").IncTo(counters.Stale);
            polls.IncTo(counters.PollRuns);
            reconciles.IncTo(counters.ReconcileRuns);
            var journal = engine.JournalStatus;
            writable.Set(journal.State == Status.JournalStatus.Ok ? 1 : 0);
            uncommitted.Set(journal.UncommittedOutcomes);
            failedWrites.IncTo(journal.FailedWrites);
            var status = await engine.StatusAsync(cancellationToken);
            foreach (var (name, flow) in status.Flows)
            {
                pending.WithLabels(name, flow.System ?? "").Set(flow.Pending);
                inFlight.WithLabels(name, flow.System ?? "").Set(flow.InFlight);
                dead.WithLabels(name, flow.System ?? "").Set(flow.Dead);
                lag.WithLabels(name, flow.System ?? "").Set(flow.LagSeconds);
            }
            foreach (var (type, count) in status.Unrouted?.Types ?? new Dictionary<string, long>())
                unrouted.WithLabels(type).IncTo(count);
            foreach (var (name, source) in status.Sources ?? new Dictionary<string, Lockstep.Sources.SourceStatus>())
                outOfOrder.WithLabels(name).IncTo(source.OutOfOrder);
            foreach (var (name, system) in status.Systems)
            {
                circuit.WithLabels(name).Set(system.Circuit switch { "open" => 1, "half-open" => 2, _ => 0 });
                if (system.ConcurrencyLimit is { } current) limit.WithLabels(name).Set(current);
            }
        });
    }

    private void Record(IReadOnlyList<DeliveryCompletion> batch)
    {
        foreach (var completion in batch)
        {
            var d = completion.Delivery;
            _deliveries.WithLabels(d.Flow, d.System, Outcome(completion.Kind)).Inc();
            if (completion.Kind != CompletionKind.Deferred) _duration.WithLabels(d.System).Observe(completion.Duration.TotalSeconds);
        }
    }

    private static string Outcome(CompletionKind kind) => kind switch
    {
        CompletionKind.Delivered => "delivered",
        CompletionKind.Skipped => "skipped",
        CompletionKind.Retry => "retry",
        CompletionKind.Dead => "dead",
        _ => "deferred",
    };

    public async Task WriteAsync(Stream output, CancellationToken cancellationToken) =>
        await _registry.CollectAndExportAsTextAsync(output, cancellationToken);
}
