using System.Diagnostics;
using Lockstep.Events;

namespace Lockstep.Bench.Scenarios;

/// <summary>
/// (3) Latency publish→delivered at a steady rate: one event per publish call, paced against a stopwatch; the publisher
/// stamps each event just before <c>PublishAsync</c>, the target stamps its first arrival (same clock), matched by key.
/// </summary>
internal sealed class LatencyScenario(BenchOptions options, Report report, string folder, BenchTarget target)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var rate = options.Rate;
        var total = (int)Math.Round(rate * options.Seconds);
        var yaml = $$"""
            storage: sqlite:{{Path.Combine(folder, "latency.db")}}
            systems:
              registry:
                type: http
                url: {{target.Url}}
                concurrency: {{options.Concurrency}}
                timeout: 10s
            {{Permits.DeliveryYaml(options)}}
            flows:
            {{Permits.FlowYaml("registry")}}
            """;
        await using var bench = await BenchEngine.StartAsync(yaml, folder, cancellationToken);

        // Warm-up: two seconds at the same rate, drained, not measured.
        var warmup = Math.Min(total, rate * 2);
        await PaceAsync(bench, "LW-", warmup, rate, null, cancellationToken);
        if (!await bench.WaitDeliveredAsync(warmup, TimeSpan.FromMinutes(1))) throw new TimeoutException("latency warm-up did not drain");

        var arrivals = target.TrackArrivals("L-", total);
        bench.Journal.Reset();
        var published = new long[total];
        var load = Report.LoadAverage();
        var cpu = ProcessMemory.CpuTime();
        var (seconds, acks) = await PaceAsync(bench, "L-", total, rate, published, cancellationToken);
        var drained = await bench.WaitDeliveredAsync(warmup + total, TimeSpan.FromMinutes(2));
        var cores = (ProcessMemory.CpuTime() - cpu).TotalSeconds / seconds;
        Console.Error.WriteLine($"[latency] {bench.Journal.Describe()}");
        if (!drained) report.Note($"latency: only {bench.Delivered - warmup:N0} of {total:N0} delivered within 2 minutes after publishing ended");

        var latencies = new List<double>(total);
        var missing = 0;
        for (var i = 0; i < total; i++)
        {
            if (arrivals[i] == 0) missing++;
            else latencies.Add(Stopwatch.GetElapsedTime(published[i], arrivals[i]).TotalMilliseconds);
        }
        latencies.Sort();
        acks.Sort();
        var achieved = total / seconds;
        var p50 = Percentile(latencies, 0.50);
        var p99 = Percentile(latencies, 0.99);
        Console.Error.WriteLine($"[latency] {total:N0} events at {achieved:N0}/s: publish→arrival p50 {p50:F1} ms, p90 {Percentile(latencies, 0.90):F1} ms, " +
            $"p99 {p99:F1} ms, p99.9 {Percentile(latencies, 0.999):F1} ms, max {latencies.LastOrDefault():F1} ms; " +
            $"publish ack (commit) p50 {Percentile(acks, 0.5):F1} ms, p99 {Percentile(acks, 0.99):F1} ms; missing {missing}; " +
            $"CPU {cores:F2} cores incl. the target (load {load})");
        report.Add(new ResultRow(
            $"(3) latency publish→delivered at {rate:N0} events/s for {options.Seconds:F0} s (achieved {achieved:N0}/s)",
            $"p50 {Report.Ms(p50)}, p99 {Report.Ms(p99)} (max {Report.Ms(latencies.LastOrDefault())})",
            $"publish ack (group commit) p50 {Report.Ms(Percentile(acks, 0.5))}, p99 {Report.Ms(Percentile(acks, 0.99))}",
            "–", "p99 ≤ 25 ms", Report.YesNo(p99 <= 25 && missing == 0)));
        if (missing > 0) report.Note($"latency: {missing} events never arrived at the target");
    }

    /// <summary>Publishes <paramref name="count"/> events one per call at <paramref name="rate"/>/s; returns seconds taken and ack latencies (ms).</summary>
    private static async Task<(double Seconds, List<double> Acks)> PaceAsync(BenchEngine bench, string prefix, int count, int rate,
        long[]? stamps, CancellationToken cancellationToken)
    {
        var events = new Event[count];
        for (var i = 0; i < count; i++) events[i] = Permits.Make(prefix, i);
        var acks = new List<double>(count);
        var pending = new List<Task>(count);
        var watch = Stopwatch.StartNew();
        var sent = 0;
        while (sent < count)
        {
            var due = (int)Math.Min(count, watch.Elapsed.TotalSeconds * rate) + 1;
            while (sent < due && sent < count)
            {
                var i = sent++;
                var at = Stopwatch.GetTimestamp();
                if (stamps is not null) stamps[i] = at;
                pending.Add(AckAsync(bench, events[i], at, acks, cancellationToken));
            }
            await Task.Delay(1, cancellationToken);
        }
        var seconds = watch.Elapsed.TotalSeconds;
        await Task.WhenAll(pending);
        return (seconds, acks);
    }

    private static async Task AckAsync(BenchEngine bench, Event e, long at, List<double> acks, CancellationToken cancellationToken)
    {
        await bench.Engine.PublishAsync([e], cancellationToken);
        var ms = Stopwatch.GetElapsedTime(at).TotalMilliseconds;
        lock (acks) acks.Add(ms);
    }

    public static double Percentile(List<double> sorted, double p)
    {
        if (sorted.Count == 0) return double.NaN;
        var index = (int)Math.Ceiling(p * sorted.Count) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Count - 1)];
    }
}
