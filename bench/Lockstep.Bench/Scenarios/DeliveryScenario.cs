using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Lockstep.Status;

namespace Lockstep.Bench.Scenarios;

/// <summary>
/// (2) Unbatched delivery: N records, one PUT each with the JS mapping on, from publish until every one is delivered and
/// status says synced. The limit: a plain HttpClient loop with the same concurrency, the same kind of body and headers,
/// and no journal. The peer: the Hangfire job (one background job per record, one PUT each) against the same target.
/// </summary>
internal sealed class DeliveryScenario(BenchOptions options, Report report, string folder, BenchTarget target)
{
    private static readonly MediaTypeHeaderValue Json = new("application/json") { CharSet = "utf-8" };

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var n = options.Records;
        var c = options.Concurrency;

        await PlainAsync("WP-", options.Warmup, c, cancellationToken);
        var load = Report.LoadAverage();
        var cpu = ProcessMemory.CpuTime();
        var plainSeconds = await PlainAsync("P-", n, c, cancellationToken);
        var plainCpu = ProcessMemory.CpuMicros(cpu, n);
        var plainRate = n / plainSeconds;
        Console.Error.WriteLine($"[delivery] plain HttpClient: {n:N0} PUTs in {plainSeconds:F2} s = {plainRate:N0}/s; CPU {plainCpu:F0} µs/record incl. the target (load {load})");

        var engineRate = await EngineAsync(n, c, cancellationToken);
        var ratio = engineRate / plainRate;
        report.Add(new ResultRow(
            $"(2) delivery{(options.JournalPg is null ? "" : " (PostgreSQL journal)")}, {n:N0} records, one PUT each, JS map, concurrency {c}",
            $"{Report.Rate(engineRate)} records/s",
            $"plain HttpClient loop, {c} workers, no journal: {Report.Rate(plainRate)} records/s",
            Report.Percent(ratio), "≥ 50 %", Report.YesNo(ratio >= 0.50)));

        if (options.HangfireDir is { } dir)
        {
            var inMemory = await HangfireAsync(dir, "inmemory", n, c, null, cancellationToken);
            if (inMemory is { } hf)
            {
                report.Add(new ResultRow(
                    $"(2b) delivery vs the Hangfire peer (in-memory storage, {c} workers, {n:N0} jobs)",
                    $"{Report.Rate(engineRate)} records/s",
                    $"Hangfire 1.8 + Hangfire.InMemory: {Report.Rate(hf)} records/s",
                    Report.Times(engineRate / hf), "≥ 5×", Report.YesNo(engineRate / hf >= 5)));
            }
            if (options.HangfirePg is { } pg)
            {
                var onPostgres = await HangfireAsync(dir, "postgres", options.HangfirePgRecords, c, pg, cancellationToken);
                if (onPostgres is { } hfpg)
                {
                    report.Add(new ResultRow(
                        $"(2c) delivery vs the Hangfire peer (PostgreSQL storage, {c} workers, {options.HangfirePgRecords:N0} jobs)",
                        $"{Report.Rate(engineRate)} records/s",
                        $"Hangfire 1.8 + Hangfire.PostgreSql: {Report.Rate(hfpg)} records/s",
                        Report.Times(engineRate / hfpg), "(context)", "–"));
                }
            }
        }
        else
        {
            report.Note("delivery: the Hangfire peer was not run (no --hangfire DIR).");
        }
    }

    /// <summary>The delivery journal: SQLite in the run's folder, or with --journal-pg a fresh PostgreSQL schema.</summary>
    private string Storage() => options.JournalPg is { } pg
        ? $"postgres:{pg};Schema=bench_{Guid.NewGuid():N}"
        : $"sqlite:{Path.Combine(folder, "delivery.db")}";

    private async Task<double> EngineAsync(int n, int c, CancellationToken cancellationToken)
    {
        var yaml = $$"""
            storage: {{Storage()}}
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
        await using var bench = await BenchEngine.StartAsync(yaml, folder, cancellationToken);
        var engine = bench.Engine;

        var warmup = options.Warmup;
        await IntakeScenario.PublishAllAsync(Permits.Batches("WD-", 0, warmup, options.BatchSize), options.Publishers,
            (b, ct) => engine.PublishAsync(b, ct), cancellationToken);
        if (!await bench.WaitDeliveredAsync(warmup, TimeSpan.FromMinutes(2))) throw new TimeoutException("delivery warm-up did not finish in 2 minutes");

        var batches = Permits.Batches("D-", 0, n, options.BatchSize);
        target.ResetCounters();
        bench.Journal.Reset();
        var load = Report.LoadAverage();
        var cpu = ProcessMemory.CpuTime();
        var watch = Stopwatch.StartNew();
        await IntakeScenario.PublishAllAsync(batches, options.Publishers, (b, ct) => engine.PublishAsync(b, ct), cancellationToken);
        var published = watch.Elapsed.TotalSeconds;
        var finished = await bench.WaitDeliveredAsync(warmup + n, TimeSpan.FromMinutes(10));
        watch.Stop();
        var engineCpu = ProcessMemory.CpuMicros(cpu, n);
        if (!finished) throw new TimeoutException($"delivery: only {bench.Delivered - warmup:N0} of {n:N0} delivered in 10 minutes");
        var status = await engine.StatusAsync(cancellationToken);
        if (status.State != SyncState.Synced) report.Note($"delivery: status said '{status.State}' right after the last outcome committed");
        if (target.Ok != n) report.Note($"delivery: the target answered {target.Ok:N0} PUTs for {n:N0} records (repeats are at-least-once redeliveries)");
        var rate = n / watch.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"[delivery] engine: {n:N0} records published in {published:F2} s, all delivered and '{status.State}' after " +
            $"{watch.Elapsed.TotalSeconds:F2} s = {rate:N0}/s; CPU {engineCpu:F0} µs/record incl. the target (target saw {target.Ok:N0}; retries {bench.Retried}; load {load})");
        Console.Error.WriteLine($"[delivery] {bench.Journal.Describe()}");
        return rate;
    }

    /// <summary>The limit: <paramref name="workers"/> loops doing one PUT each with a mapped JSON body; returns seconds taken.</summary>
    private async Task<double> PlainAsync(string prefix, int n, int workers, CancellationToken cancellationToken)
    {
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = workers, UseCookies = false, AllowAutoRedirect = false })
        {
            BaseAddress = new Uri(target.Url),
        };
        var next = -1;
        var watch = Stopwatch.StartNew();
        var loops = Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < n)
            {
                var key = string.Create(CultureInfo.InvariantCulture, $"{prefix}{i}");
                using var request = new HttpRequestMessage(HttpMethod.Put, "/api/records/" + key) { Content = new ByteArrayContent(Body(key, i)) };
                request.Content.Headers.ContentType = Json;
                request.Headers.TryAddWithoutValidation("Idempotency-Key", $"plain:permit:{key}:1");
                request.Headers.TryAddWithoutValidation("X-Record-Version", "1");
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                if (!response.IsSuccessStatusCode) throw new HttpRequestException($"the target answered {(int)response.StatusCode}");
            }
        }, cancellationToken));
        await Task.WhenAll(loops);
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>What the flow's map produces for a permit, built directly.</summary>
    internal static byte[] Body(string key, int n)
    {
        using var buffer = new MemoryStream(160);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("registryId", key);
            json.WriteString("applicantName", string.Create(CultureInfo.InvariantCulture, $"Ada Lovelace {n % 997}"));
            json.WriteStartObject("geo");
            json.WriteNumber("lat", 52.0 + (n % 1000) / 1000.0);
            json.WriteNumber("lon", 13.0 + (n % 777) / 1000.0);
            json.WriteEndObject();
            json.WriteNumber("rev", 1);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Runs the Hangfire peer (built by bench/run.sh) against the target; returns its records/s, or null if it failed.</summary>
    private async Task<double?> HangfireAsync(string dir, string storage, int n, int workers, string? pg, CancellationToken cancellationToken)
    {
        var dll = Path.Combine(dir, "bin", "Release", "net10.0", "HangfirePeer.dll");
        if (!File.Exists(dll))
        {
            report.Note($"Hangfire peer ({storage}) not run: {dll} does not exist (build it with bench/run.sh)");
            return null;
        }
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { dll, "--target", target.Url, "--n", n.ToString(CultureInfo.InvariantCulture),
                     "--workers", workers.ToString(CultureInfo.InvariantCulture), "--storage", storage })
        {
            start.ArgumentList.Add(a);
        }
        if (pg is not null)
        {
            start.ArgumentList.Add("--pg");
            start.ArgumentList.Add(pg);
        }
        target.ResetCounters();
        var load = Report.LoadAverage();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(15));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            report.Note($"Hangfire peer ({storage}) did not finish within 15 minutes and was stopped");
            return null;
        }
        var output = await stdout;
        var errors = await stderr;
        var line = output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{') && l.Contains("\"peer\"", StringComparison.Ordinal));
        if (line is null)
        {
            var tail = string.Join(" / ", (errors + output).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(3));
            report.Note($"Hangfire peer ({storage}) printed no result (exit {process.ExitCode}): {tail}");
            return null;
        }
        Console.Error.WriteLine($"[delivery] hangfire ({storage}): {line} (target saw {target.Ok:N0}; load {load})");
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        var done = root.GetProperty("done").GetInt32();
        if (done < n) report.Note($"Hangfire peer ({storage}) finished only {done:N0} of {n:N0} jobs");
        return root.GetProperty("recordsPerSecond").GetDouble();
    }
}
