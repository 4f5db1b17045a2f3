using System.Text.Json;
using Lockstep.Connectors;
using Lockstep.Deliveries;
using Lockstep.Mapping;
using Lockstep.Records;

namespace Lockstep.Reconciliation;

/// <summary>
/// Full reconciliation of one flow: compares what the target holds (read per record with <c>get</c>, or page by page
/// with <c>list</c>) with the flow's delivered records mapped as a delivery would, and schedules a resend for each
/// record that is missing there or differs (a field the mapping sets has another value; fields the target adds are
/// ignored). With <c>list</c> it also finds extras (held by the target, unknown to the flow) and, with
/// <c>deleteExtra</c>, deletes them. Requests are paced to the flow's rate so a run cannot flood the target.
/// </summary>
internal sealed class Reconciler(FlowRuntime flow, IReconcileStore store, TimeProvider time) : IDisposable
{
    private const int PageSize = 500;
    private const int SampleSize = 10;
    private readonly SemaphoreSlim _running = new(1, 1);

    public string Flow => flow.Definition.Name;

    /// <summary>The entity an extra is taken to be (the list does not say): the flow's one entity, else none.</summary>
    private string ExtraEntity => flow.Definition.Entities.Count == 1 ? flow.Definition.Entities.First() : "";

    public async Task<ReconcileReport> RunAsync(CancellationToken cancellationToken)
    {
        await _running.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await RunCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _running.Release();
        }
    }

    private async Task<ReconcileReport> RunCoreAsync(CancellationToken cancellationToken)
    {
        var startedAt = time.GetUtcNow();
        var run = new Run(startedAt.ToUnixTimeMilliseconds(), new ReadPace(flow.Definition.Reconcile?.ReadsPerSecond ?? 200, time));
        if (flow.Definition.Reconcile is { List: true } options) await ListAsync(run, options, cancellationToken).ConfigureAwait(false);
        else await ReadEachAsync(run, cancellationToken).ConfigureAwait(false);
        var report = new ReconcileReport(Flow, startedAt, time.GetUtcNow(), run.Checked, run.Missing, run.Different, run.Extra, run.Repaired, run.Failed,
            run.Samples.ToDictionary(s => s.Key, s => (IReadOnlyList<string>)s.Value));
        await store.SaveReportAsync(report, cancellationToken).ConfigureAwait(false);
        return report;
    }

    /// <summary>With <c>get</c>: reads the target's copy of each delivered record, one request per record.</summary>
    private async Task ReadEachAsync(Run run, CancellationToken cancellationToken)
    {
        long after = 0;
        while (true)
        {
            var page = await store.ListDeliveredAsync(Flow, after, PageSize, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0) break;
            after = page[^1].Id;
            var repairs = new List<long>();
            foreach (var delivery in page)
            {
                MapResult? expected = delivery.Op == RecordOp.Delete ? null : flow.Scripts.MapForComparison(delivery);
                if (expected is { Status: not MapStatus.Mapped }) continue;
                await run.Pace.WaitAsync(cancellationToken).ConfigureAwait(false);
                run.Checked++;
                var held = await flow.Lane.Connector.ReadAsync(delivery, flow.Definition, cancellationToken).ConfigureAwait(false);
                string? kind;
                if (held.Error is not null) kind = "failed";
                else if (expected is null) kind = held.Exists ? "different" : null;
                else if (!held.Exists) kind = "missing";
                else kind = Covers(held.Json!, expected.Value.Body.Span) ? null : "different";
                if (kind is null) continue;
                if (kind != "failed") repairs.Add(delivery.Id);
                run.Count(kind, $"{delivery.Entity}/{delivery.Key}");
            }
            if (repairs.Count > 0) run.Repaired += await store.ScheduleRepairsAsync(repairs, run.Id, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// With <c>list</c>: streams the target's pages and matches each item to the flow's record by key (different → resend;
    /// unknown to the flow → extra), then streams the flow's delivered records and resends those the list did not hold
    /// (missing). Memory: the set of keys the target listed (one string per record), plus the ids of drifted records and
    /// the keys of extras; never the records themselves. Repairs and deletions wait until the list has been read, so they
    /// cannot shift the target's pages under it.
    /// </summary>
    private async Task ListAsync(Run run, ReconcileOptions options, CancellationToken cancellationToken)
    {
        var listed = new HashSet<string>(StringComparer.Ordinal);
        var repairs = new List<long>();
        var extras = new List<string>();
        var complete = false;
        string? next = null;
        for (var pages = 0; pages < options.MaxPages; pages++)
        {
            await run.Pace.WaitAsync(cancellationToken).ConfigureAwait(false);
            var page = await flow.Lane.Connector.ListAsync(flow.Definition, next, cancellationToken).ConfigureAwait(false);
            if (page.Error is not null)
            {
                run.Count("failed", $"list page {pages + 1}: {page.Error}");
                break;
            }
            var fresh = new List<TargetItem>(page.Items.Count);
            foreach (var item in page.Items)
            {
                if (item.Key is null) run.Count("failed", "a listed item without a key");
                // A key listed twice (pages that shifted while being read) is judged once.
                else if (listed.Add(item.Key)) fresh.Add(item);
            }
            var known = fresh.Count == 0 ? [] : await store.FindAsync(Flow, [.. fresh.Select(i => i.Key!)], cancellationToken).ConfigureAwait(false);
            var byKey = known.ToLookup(r => r.Delivery.Key, StringComparer.Ordinal);
            foreach (var item in fresh)
            {
                run.Checked++;
                var records = byKey[item.Key!].ToList();
                if (records.Count == 0)
                {
                    extras.Add(item.Key!);
                    run.Count("extra", ExtraEntity.Length == 0 ? item.Key! : $"{ExtraEntity}/{item.Key}");
                    continue;
                }
                // A record still on its way (pending, in flight) or dead is not judged: its delivery has the final word.
                foreach (var record in records.Where(r => r.Delivered))
                {
                    var delivery = record.Delivery;
                    MapResult? expected = delivery.Op == RecordOp.Delete ? null : flow.Scripts.MapForComparison(delivery);
                    if (expected is { Status: not MapStatus.Mapped }) continue;
                    if (expected is not null && Covers(item.Json, expected.Value.Body.Span)) continue;
                    repairs.Add(delivery.Id);
                    run.Count("different", $"{delivery.Entity}/{delivery.Key}");
                }
            }
            next = page.NextPage;
            if (next is null)
            {
                complete = true;
                break;
            }
        }
        if (!complete && run.Failed == 0) run.Count("failed", $"the list has more than {options.MaxPages} pages (reconcile.maxPages)");
        // Checkpoint: the list has been read. Only a complete list says what the target lacks.
        if (complete)
        {
            long after = 0;
            while (true)
            {
                var page = await store.ListDeliveredAsync(Flow, after, PageSize, cancellationToken).ConfigureAwait(false);
                if (page.Count == 0) break;
                after = page[^1].Id;
                foreach (var delivery in page)
                {
                    if (delivery.Op == RecordOp.Delete || listed.Contains(delivery.Key)) continue;
                    if (flow.Scripts.MapForComparison(delivery).Status != MapStatus.Mapped) continue;
                    run.Checked++;
                    repairs.Add(delivery.Id);
                    run.Count("missing", $"{delivery.Entity}/{delivery.Key}");
                }
            }
        }
        foreach (var chunk in repairs.Chunk(PageSize))
            run.Repaired += await store.ScheduleRepairsAsync(chunk, run.Id, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (options.DeleteExtra) await DeleteExtrasAsync(run, extras, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes each extra through the flow's delete operation, now (the journal holds no record to deliver). A failed
    /// delete is reported; the next run finds the extra again.
    /// </summary>
    private async Task DeleteExtrasAsync(Run run, List<string> extras, CancellationToken cancellationToken)
    {
        var entity = ExtraEntity;
        foreach (var key in extras)
        {
            await run.Pace.WaitAsync(cancellationToken).ConfigureAwait(false);
            var extra = new Delivery(0, Flow, flow.Definition.System, entity, key, 0, RecordOp.Delete, $"reconcile:{Flow}:{run.Id}", "reconcileExtra", null, 1, run.Id);
            var result = await flow.Lane.Connector.ApplyAsync(extra, flow.Definition, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            if (result.Kind == ResultKind.Success) run.Repaired++;
            else run.Count("failed", $"{key}: {result.Error}");
        }
    }

    /// <summary>One run's tallies and sample keys.</summary>
    private sealed class Run(long id, ReadPace pace)
    {
        public long Id => id;

        public ReadPace Pace => pace;

        public long Checked { get; set; }

        public long Missing { get; private set; }

        public long Different { get; private set; }

        public long Extra { get; private set; }

        public long Repaired { get; set; }

        public long Failed { get; private set; }

        public Dictionary<string, List<string>> Samples { get; } = new(StringComparer.Ordinal) { ["missing"] = [], ["different"] = [], ["extra"] = [], ["failed"] = [] };

        public void Count(string kind, string sample)
        {
            switch (kind)
            {
                case "missing": Missing++; break;
                case "different": Different++; break;
                case "extra": Extra++; break;
                default: Failed++; break;
            }
            var list = Samples.TryGetValue(kind, out var existing) ? existing : Samples[kind] = [];
            if (list.Count < SampleSize) list.Add(sample);
        }
    }

    public void Dispose() => _running.Dispose();

    /// <summary>True when every field of the mapped record has the same value in the target's copy.</summary>
    internal static bool Covers(string held, ReadOnlySpan<byte> expected)
    {
        try
        {
            using var target = JsonDocument.Parse(held);
            using var mapped = JsonDocument.Parse(expected.ToArray());
            return Covers(target.RootElement, mapped.RootElement);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool Covers(JsonElement held, JsonElement expected)
    {
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                if (held.ValueKind != JsonValueKind.Object) return false;
                foreach (var property in expected.EnumerateObject())
                {
                    if (!held.TryGetProperty(property.Name, out var value))
                    {
                        if (property.Value.ValueKind == JsonValueKind.Null) continue;
                        return false;
                    }
                    if (!Covers(value, property.Value)) return false;
                }
                return true;
            case JsonValueKind.Array:
                if (held.ValueKind != JsonValueKind.Array || held.GetArrayLength() != expected.GetArrayLength()) return false;
                using (var a = held.EnumerateArray())
                using (var b = expected.EnumerateArray())
                {
                    while (a.MoveNext() && b.MoveNext())
                    {
                        if (!Covers(a.Current, b.Current)) return false;
                    }
                }
                return true;
            case JsonValueKind.Number:
                return held.ValueKind == JsonValueKind.Number && held.GetDecimal() == expected.GetDecimal();
            default:
                return held.ValueKind == expected.ValueKind && held.GetRawText() == expected.GetRawText();
        }
    }
}
