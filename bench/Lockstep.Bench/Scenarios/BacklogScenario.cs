using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Lockstep.Events;

namespace Lockstep.Bench.Scenarios;

/// <summary>
/// (4) Memory with a large backlog, then drain. The engine runs in a child process of its own (this program with
/// <c>backlog-engine</c>), so its resident memory is the engine's alone: the target, here in the parent, answers 503
/// while N events are published, then comes back; the child reports peak RSS (VmHWM) and how the backlog drained.
/// </summary>
internal sealed class BacklogScenario(BenchOptions options, Report report, string folder, BenchTarget target)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        target.ResetCounters();
        target.Down = true;
        var start = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(start.FileName) == "dotnet") start.ArgumentList.Add(typeof(BacklogScenario).Assembly.Location);
        foreach (var a in new[]
                 {
                     "backlog-engine", "--target", target.Url, "--data", folder,
                     "--backlog", Invariant(options.Backlog), "--publishers", Invariant(options.Publishers), "--batch", Invariant(options.BatchSize),
                     "--concurrency", Invariant(options.Concurrency), "--drain-timeout", options.DrainTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
                 })
        {
            start.ArgumentList.Add(a);
        }
        if (options.NoCompletionEvents) start.ArgumentList.Add("--no-completion-events");
        using var child = Process.Start(start) ?? throw new InvalidOperationException("could not start the backlog engine process");
        try
        {
            JsonElement? ready = null, result = null;
            while (await child.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.StartsWith("READY ", StringComparison.Ordinal))
                {
                    ready = JsonDocument.Parse(line[6..]).RootElement.Clone();
                    Console.Error.WriteLine($"[backlog] target up after {target.Refused:N0} refused requests");
                    target.Down = false;
                    await child.StandardInput.WriteLineAsync("UP".AsMemory(), cancellationToken);
                    await child.StandardInput.FlushAsync(cancellationToken);
                }
                else if (line.StartsWith("RESULT ", StringComparison.Ordinal))
                {
                    result = JsonDocument.Parse(line[7..]).RootElement.Clone();
                }
            }
            await child.WaitForExitAsync(cancellationToken);
            if (ready is not { } r || result is not { } x)
            {
                report.Note($"backlog: the engine process ended (exit {child.ExitCode}) without a result");
                return;
            }
            var n = options.Backlog;
            var peak = x.GetProperty("peakRssBytes").GetInt64();
            var drained = x.GetProperty("drained").GetBoolean();
            var drainSeconds = x.GetProperty("drainSeconds").GetDouble();
            var maxGap = x.GetProperty("maxGapSeconds").GetDouble();
            var stalled = !drained || maxGap > 5;
            report.Add(new ResultRow(
                $"(4) {n:N0} pending deliveries (target answering 503), then drain",
                $"peak RSS {ProcessMemory.Mb(peak)} (VmHWM of the engine process; {ProcessMemory.Mb(r.GetProperty("rssBytes").GetInt64())} with the backlog held)",
                $"published in {Report.S(r.GetProperty("publishSeconds").GetDouble())} ({Report.Rate(n / r.GetProperty("publishSeconds").GetDouble())} events/s); " +
                $"drained in {Report.S(drainSeconds)} = {Report.Rate(x.GetProperty("drainRate").GetDouble())} records/s " +
                $"(slowest 1-s window {Report.Rate(x.GetProperty("minWindowRate").GetDouble())}/s, longest gap {Report.S(maxGap)})",
                "–", "≤ 300 MB, no stall", Report.YesNo(peak <= 300L * 1024 * 1024 && !stalled)));
            if (!drained) report.Note($"backlog: drain did not finish within {options.DrainTimeoutSeconds:F0} s ({x.GetProperty("delivered").GetInt64():N0} delivered)");
            if (x.GetProperty("state").GetString() is { } state && state != "synced") report.Note($"backlog: status after drain was '{state}'");
        }
        finally
        {
            if (!child.HasExited) child.Kill(entireProcessTree: true);
            target.Down = false;
        }
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The child: engine, publish the backlog, report, wait for "UP", drain, report.</summary>
    public static async Task<int> RunEngineAsync(BenchOptions options, string targetUrl, CancellationToken cancellationToken)
    {
        var n = options.Backlog;
        var folder = options.DataRoot;
        var yaml = $$"""
            storage: sqlite:{{Path.Combine(folder, "backlog.db")}}
            systems:
              registry:
                type: http
                url: {{targetUrl}}
                concurrency: {{options.Concurrency}}
                timeout: 10s
                circuit: { breakDuration: 1s, maxBreakDuration: 1s }
            {{Permits.DeliveryYaml(options)}}
            flows:
            {{Permits.FlowYaml("registry")}}
            """;
        long peakSampled = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                var rss = ProcessMemory.Rss();
                if (rss > peakSampled) peakSampled = rss;
                try
                {
                    await Task.Delay(200, sampling.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }, CancellationToken.None);

        await using var bench = await BenchEngine.StartAsync(yaml, folder, cancellationToken);
        var engine = bench.Engine;
        Console.Error.WriteLine($"[backlog] engine started: RSS {ProcessMemory.Mb(ProcessMemory.Rss())}");
        var batches = (n + options.BatchSize - 1) / options.BatchSize;
        var next = -1;
        long published = 0;
        var watch = Stopwatch.StartNew();
        using var publishing = new CancellationTokenSource();
        var progress = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await Task.Delay(5000, publishing.Token);
                    Console.Error.WriteLine($"[backlog] published {Interlocked.Read(ref published):N0} of {n:N0} after {watch.Elapsed.TotalSeconds:F0} s, RSS {ProcessMemory.Mb(ProcessMemory.Rss())}");
                }
            }
            catch (OperationCanceledException)
            {
                // Publishing finished.
            }
        }, CancellationToken.None);
        var loops = Enumerable.Range(0, options.Publishers).Select(_ => Task.Run(async () =>
        {
            int b;
            while ((b = Interlocked.Increment(ref next)) < batches)
            {
                var from = b * options.BatchSize;
                var size = Math.Min(options.BatchSize, n - from);
                var events = new Event[size];
                for (var i = 0; i < size; i++) events[i] = Permits.Make("B-", from + i);
                var result = await engine.PublishAsync(events, cancellationToken);
                Interlocked.Add(ref published, result.Accepted);
            }
        }, cancellationToken));
        await Task.WhenAll(loops);
        var publishSeconds = watch.Elapsed.TotalSeconds;
        await publishing.CancelAsync();
        await progress;

        var statusWatch = Stopwatch.StartNew();
        var status = await engine.StatusAsync(cancellationToken);
        var statusMs = statusWatch.Elapsed.TotalMilliseconds;
        var system = status.Systems["registry"];
        var rssHeld = ProcessMemory.Rss();
        Console.Error.WriteLine($"[backlog] {n:N0} published in {publishSeconds:F1} s; pending {system.Pending:N0}, in flight {system.InFlight}, circuit {system.Circuit}; " +
            $"RSS {ProcessMemory.Mb(rssHeld)}, peak {ProcessMemory.Mb(ProcessMemory.Peak())}; GC heap {ProcessMemory.Mb(GC.GetTotalMemory(false))}; " +
            $"status query {statusMs:F0} ms; journal files {ProcessMemory.Mb(FolderSize(folder))}");
        Console.Error.WriteLine($"[backlog] intake {bench.Journal.Describe()}");
        Console.Out.WriteLine("READY " + JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["publishSeconds"] = publishSeconds,
            ["pending"] = system.Pending,
            ["rssBytes"] = rssHeld,
            ["peakBytes"] = ProcessMemory.Peak(),
        }));
        await Console.Out.FlushAsync(cancellationToken);
        if (await Console.In.ReadLineAsync(cancellationToken) != "UP") return 2;

        // Drain: sample the delivered count every 100 ms for gaps and the slowest one-second window.
        var baseline = bench.Delivered;
        bench.Journal.Reset();
        var cpu = ProcessMemory.CpuTime();
        var drain = Stopwatch.StartNew();
        var samples = new List<(double At, long Delivered)>();
        var deadline = TimeSpan.FromSeconds(options.DrainTimeoutSeconds);
        var lastReport = 0.0;
        while (bench.Delivered - baseline < n && drain.Elapsed < deadline)
        {
            samples.Add((drain.Elapsed.TotalSeconds, bench.Delivered - baseline));
            if (drain.Elapsed.TotalSeconds - lastReport >= 10)
            {
                lastReport = drain.Elapsed.TotalSeconds;
                Console.Error.WriteLine($"[backlog] drained {bench.Delivered - baseline:N0} of {n:N0} after {lastReport:F0} s, RSS {ProcessMemory.Mb(ProcessMemory.Rss())}");
            }
            await Task.Delay(100, cancellationToken);
        }
        var drainSeconds = drain.Elapsed.TotalSeconds;
        var delivered = bench.Delivered - baseline;
        var cpuPerRecord = ProcessMemory.CpuMicros(cpu, delivered);
        samples.Add((drainSeconds, delivered));
        status = await engine.StatusAsync(cancellationToken);
        await sampling.CancelAsync();
        await sampler;
        var (maxGap, minWindow, firstAt) = Analyse(samples, n);
        Console.Error.WriteLine($"[backlog] {bench.Journal.Describe()}");
        Console.Error.WriteLine($"[backlog] drained {delivered:N0} in {drainSeconds:F1} s (first delivery after {firstAt:F1} s), CPU {cpuPerRecord:F0} µs/record (engine only); status {status.State}; " +
            $"RSS now {ProcessMemory.Mb(ProcessMemory.Rss())}, peak (VmHWM) {ProcessMemory.Mb(ProcessMemory.Peak())}, peak sampled {ProcessMemory.Mb(peakSampled)}; " +
            $"journal files {ProcessMemory.Mb(FolderSize(folder))} ({Files(folder)})");
        Console.Out.WriteLine("RESULT " + JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["drained"] = delivered >= n,
            ["delivered"] = delivered,
            ["drainSeconds"] = drainSeconds,
            ["drainRate"] = delivered / drainSeconds,
            ["firstDeliverySeconds"] = firstAt,
            ["maxGapSeconds"] = maxGap,
            ["minWindowRate"] = minWindow,
            ["peakRssBytes"] = Math.Max(ProcessMemory.Peak(), peakSampled),
            ["state"] = status.State,
        }));
        await Console.Out.FlushAsync(cancellationToken);
        return 0;
    }

    private static long FolderSize(string folder) =>
        Directory.EnumerateFiles(folder).Sum(f => new FileInfo(f).Length);

    private static string Files(string folder) =>
        string.Join(", ", Directory.EnumerateFiles(folder).Select(f => $"{Path.GetFileName(f)} {ProcessMemory.Mb(new FileInfo(f).Length)}"));

    /// <summary>Longest time without progress once delivery started, and the fewest deliveries in any full one-second window.</summary>
    private static (double MaxGap, double MinWindow, double FirstAt) Analyse(List<(double At, long Delivered)> samples, long n)
    {
        var first = samples.FindIndex(s => s.Delivered > 0);
        if (first < 0) return (samples[^1].At, 0, -1);
        double maxGap = 0, lastChange = samples[first].At;
        for (var i = first + 1; i < samples.Count; i++)
        {
            if (samples[i].Delivered > samples[i - 1].Delivered)
            {
                maxGap = Math.Max(maxGap, samples[i].At - lastChange);
                lastChange = samples[i].At;
            }
        }
        var minWindow = double.PositiveInfinity;
        for (int i = first, j = first; i < samples.Count; i++)
        {
            while (j < samples.Count && samples[j].At - samples[i].At < 1.0) j++;
            if (j >= samples.Count || samples[j].Delivered >= n) break;
            minWindow = Math.Min(minWindow, (samples[j].Delivered - samples[i].Delivered) / (samples[j].At - samples[i].At));
        }
        return (maxGap, double.IsPositiveInfinity(minWindow) ? -1 : minWindow, samples[first].At);
    }
}
