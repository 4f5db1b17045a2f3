using Lockstep.Connectors;
using Lockstep.Mapping;
using Lockstep.Records;

namespace Lockstep.Deliveries;

/// <summary>
/// Batched flows: claimed upserts of a flow whose connector batches are grouped (up to the flow's batch size, for
/// at most the flow's linger) and sent in one request; each keeps its own outcome. Flows without batching never come here.
/// </summary>
internal sealed partial class DeliveryLoop
{
    private readonly Dictionary<string, FlowBatch> _batches;
    private long _batchTasks;

    private static Dictionary<string, FlowBatch> Batches(IReadOnlyDictionary<string, FlowRuntime> flows, int max)
    {
        var batches = new Dictionary<string, FlowBatch>(StringComparer.Ordinal);
        foreach (var (name, flow) in flows)
        {
            if (flow.Lane.Connector is IBatchConnector connector && connector.Linger(flow.Definition) is { } linger)
                batches[name] = new FlowBatch(connector, linger, connector.MaxBatch(flow.Definition) ?? max);
        }
        return batches;
    }

    private bool TryBatch(Delivery delivery, FlowRuntime flow)
    {
        if (delivery.Op != RecordOp.Upsert || !_batches.TryGetValue(delivery.Flow, out var batch)) return false;
        var (full, started) = batch.Add(delivery);
        if (full is not null) Track(() => RunBatchAsync(full, flow, batch.Connector));
        else if (started is { } generation) Track(() => LingerAsync(generation, flow, batch));
        return true;
    }

    // Batch work is tracked with the single deliveries (negative ids), so StopAsync waits for it the same way.
    private void Track(Func<Task> work)
    {
        var id = -Interlocked.Increment(ref _batchTasks);
        _running[id] = TrackAsync(id, work);
    }

    private async Task TrackAsync(long id, Func<Task> work)
    {
        await Task.Yield();
        try
        {
            await work().ConfigureAwait(false);
        }
        finally
        {
            _running.TryRemove(id, out _);
        }
    }

    private async Task LingerAsync(long generation, FlowRuntime flow, FlowBatch batch)
    {
        try
        {
            await Task.Delay(batch.Linger, _time, _stopClaiming.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping: the batch is handed to the lane at once, which returns it as due again without sending it.
        }
        if (batch.TakeIf(generation) is { } deliveries) await RunBatchAsync(deliveries, flow, batch.Connector).ConfigureAwait(false);
    }

    private async Task RunBatchAsync(List<Delivery> deliveries, FlowRuntime flow, IBatchConnector connector)
    {
        using var activity = Telemetry.LockstepActivities.Source.StartActivity("lockstep.batch");
        activity?.SetTag("lockstep.flow", flow.Definition.Name);
        activity?.SetTag("lockstep.system", flow.Definition.System);
        activity?.SetTag("lockstep.count", deliveries.Count);
        var startedAt = _time.GetUtcNow();
        var started = _time.GetTimestamp();
        var items = new List<BatchItem>(deliveries.Count);
        foreach (var delivery in deliveries)
        {
            var mapped = flow.Scripts.Map(delivery);
            switch (mapped.Status)
            {
                case MapStatus.Failed:
                    _completions.Writer.TryWrite(Dead(delivery, startedAt, _time.GetElapsedTime(started), null, mapped.Error));
                    break;
                case MapStatus.Skipped:
                    _completions.Writer.TryWrite(new DeliveryCompletion(delivery, CompletionKind.Skipped, startedAt, _time.GetElapsedTime(started), null, "skipped by filter or map", startedAt));
                    break;
                default:
                    items.Add(new BatchItem(delivery, mapped.Body));
                    break;
            }
        }
        if (items.Count == 0) return;

        IReadOnlyList<LaneResult> outcomes;
        try
        {
            outcomes = await flow.Lane.ApplyBatchAsync(connector, items, flow.Definition, _stopClaiming.Token, _abortRequests.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abortRequests.IsCancellationRequested)
        {
            // Checkpoint: nothing recorded; the deliveries stay in flight in the journal and are due again at the next start.
            foreach (var _ in items) flow.Lane.OnCompleted();
            return;
        }
        catch (Exception e)
        {
            var failed = ConnectorResult.Transient($"{e.GetType().Name}: {e.Message}");
            foreach (var item in items) _completions.Writer.TryWrite(Retry(item.Delivery, flow, startedAt, _time.GetElapsedTime(started), failed));
            return;
        }
        var duration = _time.GetElapsedTime(started);
        for (var i = 0; i < items.Count; i++)
        {
            var delivery = items[i].Delivery;
            var outcome = outcomes[i];
            _completions.Writer.TryWrite(outcome.CircuitRetryAfter is { } wait
                ? new DeliveryCompletion(delivery, CompletionKind.Deferred, startedAt, duration, null, wait == TimeSpan.Zero ? "stopping" : "circuit open", _time.GetUtcNow() + wait)
                : Completed(delivery, flow, outcome.Result, startedAt, duration, items[i].Body));
        }
    }
}
