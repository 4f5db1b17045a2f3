using System.Globalization;
using Lockstep.Bench;
using Lockstep.Bench.Scenarios;

// Lockstep benchmark (issue 6, "Benchmark"): progress goes to standard error, the results table to standard output.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

if (args.Length > 0 && args[0] is "-h" or "--help")
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

if (args.Length > 0 && args[0] == "backlog-engine")
{
    // The child process of scenario (4): the engine alone, talking to the parent over stdin/stdout.
    var rest = args.Skip(1).ToList();
    var at = rest.IndexOf("--target");
    if (at < 0 || at + 1 >= rest.Count) throw new ArgumentException("backlog-engine needs --target URL");
    var url = rest[at + 1];
    rest.RemoveRange(at, 2);
    return await BacklogScenario.RunEngineAsync(BenchOptions.Parse(rest), url, cancel.Token);
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var folder = Path.Combine(options.DataRoot, "lockstep-bench-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
Directory.CreateDirectory(folder);
Console.Error.WriteLine($"[bench] scenarios {string.Join(",", options.Scenarios)}; data in {folder}; {Environment.ProcessorCount} cores; load {Report.LoadAverage()}");
var report = new Report();
var (fsync50, fsync99) = DiskProbe.FsyncMs(folder);
report.Note($"disk: one 4 KiB write + fsync takes p50 {fsync50:F2} ms, p99 {fsync99:F2} ms here (the floor under every durable commit)");
var failed = false;
await using (var target = await BenchTarget.StartAsync())
{
    Console.Error.WriteLine($"[bench] target at {target.Url}");
    foreach (var scenario in options.Scenarios)
    {
        var sub = Path.Combine(folder, scenario);
        Directory.CreateDirectory(sub);
        var loadBefore = Report.LoadAverage();
        var machine = new MachineLoad();
        try
        {
            Task run = scenario switch
            {
                "intake" => new IntakeScenario(options, report, sub).RunAsync(cancel.Token),
                "delivery" => new DeliveryScenario(options, report, sub, target).RunAsync(cancel.Token),
                "latency" => new LatencyScenario(options, report, sub, target).RunAsync(cancel.Token),
                "postgres" => new PostgresScenario(options, report, sub).RunAsync(cancel.Token),
                "brokers" => new BrokersScenario(options, report, sub).RunAsync(cancel.Token),
                "connectors" => new ConnectorsScenario(options, report, sub, target).RunAsync(cancel.Token),
                "reconcile" => new ReconcileScenario(options, report, sub, target).RunAsync(cancel.Token),
                "poll" => new PollScenario(options, report, sub).RunAsync(cancel.Token),
                "degraded" => new DegradedScenario(options, report, sub, target).RunAsync(cancel.Token),
                _ => new BacklogScenario(options, report, sub, target).RunAsync(cancel.Token),
            };
            await run;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            failed = true;
            report.Note($"{scenario} failed: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            report.Note($"{scenario}: {machine.Describe()}{(scenario == "backlog" ? " (the engine ran in a child process)" : "")}; " +
                $"1-minute load average {loadBefore} at start, {Report.LoadAverage()} at end");
            target.ResetCounters();
            if (!options.KeepData) TryDelete(sub);
        }
    }
}
if (!options.KeepData) TryDelete(folder);

var table = report.ToMarkdown();
Console.WriteLine(table);
if (options.MarkdownOut is { } file) await File.WriteAllTextAsync(file, table);
return failed ? 1 : 0;

static void TryDelete(string path)
{
    try
    {
        Directory.Delete(path, recursive: true);
    }
    catch (IOException)
    {
        // Best effort: the temp folder is cleaned up eventually anyway.
    }
}
