using System.Diagnostics;
using System.Globalization;

namespace Lockstep.Bench.Scenarios;

/// <summary>
/// (10) A degraded target is still served: the same unbatched delivery as (2), a quarter of its records, against a target
/// answering 503 (no Retry-After) to 0 %, 20 %, 50 % and 90 % of PUTs at random; the rate is from publish until 90 % of
/// the records are delivered (the steady state; the rest wait out their own backoff, logged beside it); the goal is ≥ 40 %
/// of the healthy rate at 50 %. Then a target failing 100 %: how many requests reach it in
/// the 20 s after the circuit opened (the goal: at most one probe per break interval — 5 s, doubling).
/// </summary>
internal sealed class DegradedScenario(BenchOptions options, Report report, string folder, BenchTarget target)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var n = Math.Max(1_000, options.Records / 4);
        var c = options.Concurrency;
        double? healthy = null;
        foreach (var ratio in new[] { 0.0, 0.2, 0.5, 0.9 })
        {
            var (rate, requests) = await DeliverAsync(ratio, n, c, cancellationToken);
            healthy ??= rate;
            var share = rate / healthy.Value;
            var label = $"(10) degraded target: {ratio * 100:F0} % of PUTs answered 503, {n:N0} records, concurrency {c}";
            report.Add(new ResultRow(label, $"{Report.Rate(rate)} records/s to 90 % ({requests:N0} requests in all)",
                ratio == 0 ? "the healthy rate (this row)" : $"healthy rate {Report.Rate(healthy.Value)} records/s",
                Report.Percent(share), ratio == 0.5 ? "≥ 40 %" : "(context)", ratio == 0.5 ? Report.YesNo(share >= 0.40) : "–"));
        }
        var (probes, seconds) = await DownAsync(c, cancellationToken);
        // Breaks of 5 s doubling (10 s, 20 s, ...): in 20 s after opening, probes at 5 s and 15 s.
        report.Add(new ResultRow($"(10) target failing 100 %: requests in the {seconds:F0} s after the circuit opened",
            $"{probes} requests", "breakDuration 5 s, doubling: at most 2 probes in 20 s", "–", "≤ 1 per break", Report.YesNo(probes <= 2)));
    }

    private async Task<(double Rate, long Requests)> DeliverAsync(double ratio, int n, int c, CancellationToken cancellationToken)
    {
        var yaml = Yaml($"degraded-{(int)(ratio * 100)}.db", c);
        await using var bench = await BenchEngine.StartAsync(yaml, folder, cancellationToken);
        target.ResetCounters();
        target.FailureRatio = ratio;
        var batches = Permits.Batches($"G{(int)(ratio * 100)}-", 0, n, options.BatchSize);
        var watch = Stopwatch.StartNew();
        await IntakeScenario.PublishAllAsync(batches, options.Publishers, (b, ct) => bench.Engine.PublishAsync(b, ct), cancellationToken);
        // The steady rate is taken at 90 % delivered: the last records are waiting out their own backoff (the unluckiest
        // of 5,000 at 50 % fails a dozen times in a row), which measures the retry policy, not how the target is served.
        var steady = n * 9 / 10;
        var reached = await bench.WaitDeliveredAsync(steady, TimeSpan.FromMinutes(5));
        var steadySeconds = watch.Elapsed.TotalSeconds;
        var finished = reached && await bench.WaitDeliveredAsync(n, TimeSpan.FromMinutes(5));
        watch.Stop();
        var requests = target.Ok + target.Refused;
        target.FailureRatio = 0;
        if (!finished) throw new TimeoutException($"degraded {ratio:P0}: only {bench.Delivered:N0} of {n:N0} delivered in 5 minutes");
        var rate = steady / steadySeconds;
        var status = await bench.Engine.StatusAsync(cancellationToken);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[degraded] {ratio:P0} failing: 90 % delivered in {steadySeconds:F2} s = {rate:N0}/s, all {n:N0} in {watch.Elapsed.TotalSeconds:F2} s = {n / watch.Elapsed.TotalSeconds:N0}/s; {requests:N0} requests ({target.Refused:N0} refused); concurrency limit at the end {status.Systems["registry"].ConcurrencyLimit}"));
        return (rate, requests);
    }

    private async Task<(long Probes, double Seconds)> DownAsync(int c, CancellationToken cancellationToken)
    {
        await using var bench = await BenchEngine.StartAsync(Yaml("degraded-100.db", c), folder, cancellationToken);
        target.ResetCounters();
        target.Down = true;
        try
        {
            await bench.Engine.PublishAsync(Permits.Batches("GD-", 0, 200, 200)[0], cancellationToken);
            var deadline = Stopwatch.StartNew();
            while ((await bench.Engine.StatusAsync(cancellationToken)).Systems["registry"].Circuit != "open")
            {
                if (deadline.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("the circuit did not open within 30 s against a target failing every request");
                await Task.Delay(20, cancellationToken);
            }
            // Requests already sent when it opened still come back; count from when none is in flight.
            while ((await bench.Engine.StatusAsync(cancellationToken)).Systems["registry"].InFlight > 0) await Task.Delay(20, cancellationToken);
            var before = target.Refused;
            var watch = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(20), cancellationToken);
            var probes = target.Refused - before;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[degraded] 100 % failing: {before:N0} requests before the circuit opened, {probes} in the {watch.Elapsed.TotalSeconds:F1} s after"));
            return (probes, watch.Elapsed.TotalSeconds);
        }
        finally
        {
            target.Down = false;
        }
    }

    private string Yaml(string file, int c) => $$"""
        storage: sqlite:{{Path.Combine(folder, file)}}
        systems:
          registry:
            type: http
            url: {{target.Url}}
            concurrency: {{c}}
            timeout: 10s
        {{Permits.DeliveryYaml(options)}}
        flows:
        {{Permits.FlowYaml("registry")}}
        """;
}
