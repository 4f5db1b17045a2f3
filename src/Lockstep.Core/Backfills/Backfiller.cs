using System.Threading.Channels;
using Lockstep.Configuration;
using Lockstep.Intake;
using Lockstep.Reconciliation;
using Lockstep.Routing;
using Microsoft.Extensions.Logging;

namespace Lockstep.Backfills;

/// <summary>
/// Sends the newest state of every record the journal already holds to a flow that did not exist when they came in (a
/// flow added to the config, or <c>lockstep backfill FLOW</c>). Records are read a page at a time in key order, so the
/// key set is never held in memory; each page's deliveries and the cursor after it commit together, so a restart
/// resumes after the last page sent. Paced like reconciliation (the flow's <c>reconcile.readsPerSecond</c>, 200).
/// </summary>
internal sealed class Backfiller(IBackfillStore store, IReadOnlyList<FlowDefinition> flows, WorkSignal work, TimeProvider time, ILogger logger)
{
    private const int PageSize = 200;
    private readonly FlowRouter _router = new(flows);
    private readonly Dictionary<string, FlowDefinition> _flows = flows.ToDictionary(f => f.Name, StringComparer.Ordinal);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    /// <summary>Whether any backfill is unfinished (set by the run loop; status shows pending meanwhile).</summary>
    public bool Running { get; private set; }

    /// <summary>Marks the config's flows seen; those this journal never saw begin a backfill.</summary>
    public async Task DetectNewFlowsAsync(CancellationToken cancellationToken)
    {
        var fresh = await store.MarkSeenAsync([.. _flows.Keys], cancellationToken).ConfigureAwait(false);
        // A journal that holds no records yet (a first start) has nothing to backfill.
        if (fresh.Count == 0 || (await store.ListRecordsAsync(null, null, 1, cancellationToken).ConfigureAwait(false)).Count == 0) return;
        foreach (var flow in fresh)
        {
            await store.BeginAsync(flow, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            BackfillLog.NewFlow(logger, flow);
        }
    }

    /// <summary>Starts a flow's backfill over from the first record.</summary>
    public async Task BeginAsync(string flow, CancellationToken cancellationToken)
    {
        await store.BeginAsync(flow, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        Running = true;
        _wake.Writer.TryWrite(true);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            do
            {
                _wake.Reader.TryRead(out _);
                foreach (var progress in await store.ListAsync(cancellationToken).ConfigureAwait(false))
                {
                    // A flow removed from the config since keeps its row; its backfill stays where it stopped.
                    if (progress.FinishedAt is null && _flows.TryGetValue(progress.Flow, out var flow))
                    {
                        Running = true;
                        await RunOneAsync(flow, progress, cancellationToken).ConfigureAwait(false);
                    }
                }
                Running = false;
            }
            while (await _wake.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task RunOneAsync(FlowDefinition flow, BackfillProgress progress, CancellationToken cancellationToken)
    {
        var pace = new ReadPace(flow.Reconcile?.ReadsPerSecond ?? 200, time);
        var (entity, key) = (progress.AfterEntity, progress.AfterKey);
        while (true)
        {
            var page = await store.ListRecordsAsync(entity, key, PageSize, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                await store.FinishAsync(flow.Name, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                break;
            }
            var chosen = new List<RecordHead>(page.Count);
            foreach (var record in page)
            {
                await pace.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (_router.Match(record.Type, record.Entity).Contains(flow)) chosen.Add(record);
            }
            var finished = page.Count < PageSize;
            // Checkpoint: this page's deliveries and the cursor after it are one commit.
            await store.EnqueueAsync(flow.Name, flow.System, chosen, page[^1], page.Count, finished, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            if (chosen.Count > 0) work.Set();
            if (finished) break;
            (entity, key) = (page[^1].Entity, page[^1].Key);
        }
        BackfillLog.Finished(logger, flow.Name);
    }
}
