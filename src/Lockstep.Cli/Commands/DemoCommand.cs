using System.CommandLine;
using System.Security.Cryptography;
using Lockstep.Cli.Demo;
using Lockstep.Configuration;
using Lockstep.Engines;
using Lockstep.Host;
using Lockstep.Status;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Lockstep.Cli.Commands;

/// <summary>
/// <c>lockstep demo</c>: the bundled example end to end with nothing installed. A sample registry that fails a fifth of
/// requests (and has a short outage), sample permits published, a live view of retries and recovery; exits 0 once
/// everything is synced and the registry holds exactly the newest state of every permit.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var keep = new Option<bool>("--keep") { Description = "Keep running (API and registry) after the demo converges" };
        var permits = new Option<int>("--permits") { Description = "How many permits to publish", DefaultValueFactory = _ => 300 };
        var urls = new Option<string>("--urls") { Description = "Where the demo's Lockstep API listens", DefaultValueFactory = _ => "http://127.0.0.1:0" };
        var command = new Command("demo", "Run a self-contained demonstration: needs nothing installed") { keep, permits, urls };
        command.SetAction((result, cancellationToken) =>
            RunAsync(Math.Clamp(result.GetValue(permits), 1, 100_000), result.GetValue(keep), result.GetValue(urls)!, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(int permitCount, bool keep, string urls, CancellationToken cancellationToken)
    {
        var data = Directory.CreateTempSubdirectory("lockstep-demo-");
        try
        {
            await using var registry = await SampleRegistry.StartAsync(failureRate: 0.2);
            var token = "demo-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
            var environment = new Dictionary<string, string>
            {
                ["LOCKSTEP_DEMO_DATA"] = data.FullName,
                ["LOCKSTEP_DEMO_REGISTRY"] = registry.Url,
                ["LOCKSTEP_DEMO_TOKEN"] = token,
            };
            var configPath = Path.Combine(AppContext.BaseDirectory, "examples", "demo", "lockstep.yaml");
            var config = new ConfigLoader(LockstepServiceCollectionExtensions.ConnectorFactories,
                name => environment.GetValueOrDefault(name) ?? Environment.GetEnvironmentVariable(name)).Load(configPath);

            // The live view shows retries and the circuit; per-record retry warnings would drown it.
            await using var app = LockstepHost.Build(config, urls, engineLogLevel: Microsoft.Extensions.Logging.LogLevel.Error);
            await app.StartAsync(cancellationToken);
            var api = app.ListeningUrl();
            var engine = app.Services.GetRequiredService<LockstepEngine>();
            AnsiConsole.MarkupLine($"[bold]Lockstep demo[/]: config [blue]{Markup.Escape(configPath)}[/]");
            AnsiConsole.MarkupLine($"  API {api}  ·  sample registry {registry.Url} (fails 20% of requests, one outage)  ·  journal {Markup.Escape(data.FullName)}");

            var (events, expected) = DemoPermits.Generate(permitCount, seed: 42);
            registry.Outage = true;
            for (var i = 0; i < events.Count; i += 100)
                await engine.PublishAsync(events.Skip(i).Take(100).ToList(), cancellationToken);
            AnsiConsole.MarkupLine($"  published {events.Count} events for {permitCount} permits (shuffled versions, resends, revocations)");

            var started = TimeProvider.System.GetTimestamp();
            var converged = false;
            StatusReport status = await engine.StatusAsync(cancellationToken);
            async Task WatchAsync(Action<IRenderable>? update)
            {
                while (!cancellationToken.IsCancellationRequested && TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromMinutes(3))
                {
                    var elapsed = TimeProvider.System.GetElapsedTime(started);
                    if (registry.Outage && elapsed > TimeSpan.FromSeconds(2)) registry.Outage = false;
                    status = await engine.StatusAsync(cancellationToken);
                    update?.Invoke(View(status, registry, elapsed));
                    if (status.State == SyncState.Synced && !registry.Outage && Matches(registry, expected))
                    {
                        converged = true;
                        return;
                    }
                    await Task.Delay(TimeSpan.FromMilliseconds(250), TimeProvider.System, cancellationToken);
                }
            }
            if (AnsiConsole.Profile.Capabilities.Interactive)
            {
                await AnsiConsole.Live(View(status, registry, TimeSpan.Zero)).StartAsync(async live => await WatchAsync(r => { live.UpdateTarget(r); live.Refresh(); }));
            }
            else
            {
                var last = TimeSpan.Zero;
                await WatchAsync(_ =>
                {
                    var elapsed = TimeProvider.System.GetElapsedTime(started);
                    if (elapsed - last < TimeSpan.FromSeconds(1)) return;
                    last = elapsed;
                    var s = status.Systems["registry"];
                    Console.WriteLine($"  {elapsed.TotalSeconds,5:0.0}s  {status.State,-8} pending {s.Pending,5}  in flight {s.InFlight,3}  delivered {s.Delivered,5}  circuit {s.Circuit,-9} registry: {registry.Records.Count} records, {registry.InjectedFailures} injected failures");
                });
            }

            if (!converged)
            {
                AnsiConsole.MarkupLine("[red]The demo did not converge in time.[/]");
                return 1;
            }
            var registryStatus = status.Systems["registry"];
            AnsiConsole.MarkupLine($"[green]Converged[/] in {TimeProvider.System.GetElapsedTime(started).TotalSeconds:0.0}s: the registry holds exactly the newest state of all {expected.Count} live permits " +
                $"({permitCount - expected.Count} revoked and removed).");
            AnsiConsole.MarkupLine($"  {registry.Requests.Count} requests, {registry.InjectedFailures} injected failures retried, {registry.Repeats} repeats, {registry.Regressions} version regressions, " +
                $"{registryStatus.Dead} dead letters. The bearer token never left the request headers.");
            if (keep)
            {
                AnsiConsole.MarkupLine($"Still running (--keep): try [blue]lockstep status --url {api}[/]. Ctrl-C to stop.");
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl-C: stop normally.
                }
            }
            await app.StopAsync(CancellationToken.None);
            return 0;
        }
        finally
        {
            try
            {
                data.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A temp folder left behind is harmless.
            }
        }
    }

    private static bool Matches(SampleRegistry registry, Dictionary<string, long> expected) =>
        registry.Records.Count == expected.Count && expected.All(e => registry.Records.TryGetValue(e.Key, out var held) && held.Version == e.Value);

    private static IRenderable View(StatusReport status, SampleRegistry registry, TimeSpan elapsed)
    {
        var s = status.Systems["registry"];
        var table = new Table().Title($"[bold]{elapsed.TotalSeconds:0.0}s[/]  Lockstep is [{StatusCommand.Color(status.State)}]{status.State}[/]")
            .AddColumns("system", "state", "pending", "in flight", "delivered", "dead", "circuit", "registry holds", "injected failures", "last error");
        table.AddRow("registry", $"[{StatusCommand.Color(s.State)}]{s.State}[/]", s.Pending.ToString(), s.InFlight.ToString(), s.Delivered.ToString(),
            s.Dead.ToString(), s.Circuit + (registry.Outage ? " [red](outage)[/]" : ""), registry.Records.Count.ToString(), registry.InjectedFailures.ToString(),
            Markup.Escape(s.LastError ?? ""));
        return table;
    }
}
