using System.Diagnostics;
using System.Globalization;
using System.Text;
using Lockstep.Reconciliation;

namespace Lockstep.Bench.Scenarios;

/// <summary>
/// (5) Full reconciliation: N records delivered to the target (which keeps each body and answers
/// <c>GET /api/records/{key}</c>), then 1 % changed and 1 % removed behind the engine's back; one full run through
/// <c>LockstepEngine.SyncAsync(flow, full: true)</c> must report exactly that drift. Reported: records checked per second
/// at the stated <c>readsPerSecond</c> pacing, and peak RSS during the run. The repairs are then delivered and the
/// target must hold every record again.
/// </summary>
internal sealed class ReconcileScenario(BenchOptions options, Report report, string folder, BenchTarget target)
{
    private const string Flow = "permits-to-registry";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var n = options.ReconcileRecords;
        var rate = options.ReconcileRate;
        var yaml = $$"""
            storage: sqlite:{{Path.Combine(folder, "reconcile.db")}}
            systems:
              registry:
                type: http
                url: {{target.Url}}
                concurrency: {{options.Concurrency}}
                timeout: 10s
            flows:
            {{Permits.FlowYaml("registry")}}
                get: GET /api/records/{key}
                reconcile: { readsPerSecond: {{rate}} }
            """;
        target.ResetCounters();
        target.Holding = true;
        await using var bench = await BenchEngine.StartAsync(yaml, folder, cancellationToken);
        var engine = bench.Engine;

        var watch = Stopwatch.StartNew();
        await IntakeScenario.PublishAllAsync(Permits.Batches("R-", 0, n, options.BatchSize), options.Publishers,
            (b, ct) => engine.PublishAsync(b, ct), cancellationToken);
        if (!await bench.WaitDeliveredAsync(n, TimeSpan.FromMinutes(10)))
            throw new TimeoutException($"reconcile: only {bench.Delivered:N0} of {n:N0} delivered in 10 minutes");
        if (target.Held.Count != n) throw new InvalidOperationException($"reconcile: the target holds {target.Held.Count:N0} records after delivering {n:N0}");
        Console.Error.WriteLine($"[reconcile] {n:N0} records published and delivered in {watch.Elapsed.TotalSeconds:F1} s; target holds {target.Held.Count:N0}");

        // Corrupt behind the engine's back: every 100th record changed (a field the mapping sets), every 100th + 50 removed.
        long changed = 0, removed = 0;
        for (var i = 0; i < n; i++)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"R-{i}");
            if (i % 100 == 0)
            {
                var body = Encoding.UTF8.GetString(target.Held[key]).Replace("\"applicantName\":\"Ada", "\"applicantName\":\"Bob", StringComparison.Ordinal);
                if (!body.Contains("\"Bob", StringComparison.Ordinal)) throw new InvalidOperationException($"reconcile: the target's copy of {key} is not the mapped body: {body}");
                target.Held[key] = Encoding.UTF8.GetBytes(body);
                changed++;
            }
            else if (i % 100 == 50)
            {
                if (!target.Held.TryRemove(key, out _)) throw new InvalidOperationException($"reconcile: {key} was not held");
                removed++;
            }
        }

        var delivered = bench.Delivered;
        var load = Report.LoadAverage();
        var cpu = ProcessMemory.CpuTime();
        ReconcileReport drift;
        double seconds;
        long peak;
        string peakHow;
        await using (var rss = new PeakRss())
        {
            watch.Restart();
            var outcome = await engine.SyncAsync(Flow, full: true, cancellationToken)
                ?? throw new InvalidOperationException($"reconcile: no flow {Flow}");
            seconds = watch.Elapsed.TotalSeconds;
            drift = outcome.Report ?? throw new InvalidOperationException("reconcile: a full sync returned no drift report");
            peak = rss.Peak;
            peakHow = rss.Describe();
        }
        var cpuMicros = ProcessMemory.CpuMicros(cpu, drift.Checked);
        var perSecond = drift.Checked / seconds;
        Console.Error.WriteLine($"[reconcile] full run: checked {drift.Checked:N0} in {seconds:F2} s = {perSecond:N0}/s; missing {drift.Missing}, different {drift.Different}, " +
            $"extra {drift.Extra}, failed {drift.Failed}, repaired {drift.Repaired}; target GETs {target.Reads:N0}; CPU {cpuMicros:F0} µs/record incl. the target; " +
            $"peak RSS {ProcessMemory.Mb(peak)} ({peakHow}); load {load}");

        var wrong = new List<string>();
        if (drift.Checked != n) wrong.Add($"checked {drift.Checked} ≠ {n}");
        if (drift.Missing != removed) wrong.Add($"missing {drift.Missing} ≠ {removed}");
        if (drift.Different != changed) wrong.Add($"different {drift.Different} ≠ {changed}");
        if (drift.Failed != 0) wrong.Add($"failed {drift.Failed} ≠ 0");
        if (drift.Repaired != changed + removed) wrong.Add($"repaired {drift.Repaired} ≠ {changed + removed}");

        // The repairs go out through the ordinary delivery loop: afterwards the target must hold every record, unchanged.
        var repairsDone = await bench.WaitDeliveredAsync(delivered + changed + removed, TimeSpan.FromMinutes(5));
        if (!repairsDone) wrong.Add($"only {bench.Delivered - delivered} of {changed + removed} repairs delivered in 5 minutes");
        var stillWrong = target.Held.Count(h => h.Value.AsSpan().IndexOf("\"Bob"u8) >= 0);
        if (target.Held.Count != n || stillWrong != 0) wrong.Add($"after the repairs the target holds {target.Held.Count:N0} records, {stillWrong} still changed");

        report.Add(new ResultRow(
            $"(5) full reconciliation, {n:N0} records, get per record, readsPerSecond {rate:N0}",
            $"{Report.Rate(perSecond)} records checked/s ({Report.S(seconds)}); peak RSS {ProcessMemory.Mb(peak)}",
            $"drift found: missing {drift.Missing:N0}, different {drift.Different:N0}, repaired {drift.Repaired:N0} (corrupted: {removed:N0} removed, {changed:N0} changed)",
            "–", "exact drift counts", Report.YesNo(wrong.Count == 0)));
        report.Note($"reconcile: pacing readsPerSecond {rate:N0} (the shipped default is 200/s, at which {n:N0} records take {n / 200.0:F0} s by design); " +
            $"peak RSS is the {peakHow}, the in-process HTTP server included; CPU {cpuMicros:F0} µs/record incl. the in-process target");
        if (wrong.Count > 0) throw new InvalidOperationException("reconcile: " + string.Join("; ", wrong));
    }
}
