using System.Text.Json;
using Lockstep.Deliveries;
using Lockstep.Mapping;
using Lockstep.Records;

namespace Lockstep.Reconciliation;

/// <summary>
/// Full reconciliation of one flow: streams the records the flow has delivered (a page at a time, so memory stays
/// bounded), maps each as a delivery would, reads the target's copy, and schedules a resend for each record that is
/// missing there or differs (a field the mapping sets has another value; fields the target adds are ignored).
/// Reads are paced to the flow's rate so a run cannot flood the target.
/// </summary>
internal sealed class Reconciler(FlowRuntime flow, IReconcileStore store, TimeProvider time) : IDisposable
{
    private const int PageSize = 500;
    private const int SampleSize = 10;
    private readonly SemaphoreSlim _running = new(1, 1);

    public string Flow => flow.Definition.Name;

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
        var run = startedAt.ToUnixTimeMilliseconds();
        var rate = flow.Definition.Reconcile?.ReadsPerSecond ?? 200;
        long checkedCount = 0, missing = 0, different = 0, repaired = 0, failed = 0;
        var samples = new Dictionary<string, List<string>> { ["missing"] = [], ["different"] = [], ["failed"] = [] };
        var windowStart = time.GetTimestamp();
        var readsInWindow = 0;
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
                if (readsInWindow >= rate)
                {
                    // Paced: at most `rate` reads per second of the engine's clock.
                    var elapsed = time.GetElapsedTime(windowStart);
                    if (elapsed < TimeSpan.FromSeconds(1)) await Task.Delay(TimeSpan.FromSeconds(1) - elapsed, time, cancellationToken).ConfigureAwait(false);
                    windowStart = time.GetTimestamp();
                    readsInWindow = 0;
                }
                readsInWindow++;
                checkedCount++;
                var held = await flow.Lane.Connector.ReadAsync(delivery, flow.Definition, cancellationToken).ConfigureAwait(false);
                string? kind;
                if (held.Error is not null) kind = "failed";
                else if (expected is null) kind = held.Exists ? "different" : null;
                else if (!held.Exists) kind = "missing";
                else kind = Covers(held.Json!, expected.Value.Body.Span) ? null : "different";
                if (kind is null) continue;
                switch (kind)
                {
                    case "failed": failed++; break;
                    case "missing": missing++; repairs.Add(delivery.Id); break;
                    default: different++; repairs.Add(delivery.Id); break;
                }
                if (samples[kind].Count < SampleSize) samples[kind].Add($"{delivery.Entity}/{delivery.Key}");
            }
            if (repairs.Count > 0) repaired += await store.ScheduleRepairsAsync(repairs, run, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        }
        var report = new ReconcileReport(Flow, startedAt, time.GetUtcNow(), checkedCount, missing, different, 0, repaired, failed,
            samples.ToDictionary(s => s.Key, s => (IReadOnlyList<string>)s.Value));
        await store.SaveReportAsync(report, cancellationToken).ConfigureAwait(false);
        return report;
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
