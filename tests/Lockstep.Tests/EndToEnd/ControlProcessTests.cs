using System.Net.Http.Json;
using System.Text.Json;
using Lockstep.Cli.Demo;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.EndToEnd;

/// <summary>Pause, resume, reload (SIGHUP and <c>lockstep reload</c>) and check on the real <c>lockstep</c> program against real HTTP targets.</summary>
public sealed class ControlProcessTests : IAsyncLifetime
{
    private readonly TempFolder _folder = new();
    private readonly Signal _requests = new();
    private SampleRegistry _registry = null!;
    private SampleRegistry _archive = null!;

    public async Task InitializeAsync()
    {
        _registry = await SampleRegistry.StartAsync(failureRate: 0);
        _archive = await SampleRegistry.StartAsync(failureRate: 0);
        _registry.Changed += _requests.Pulse;
        _archive.Changed += _requests.Pulse;
    }

    public async Task DisposeAsync()
    {
        await _registry.DisposeAsync();
        await _archive.DisposeAsync();
        _folder.Dispose();
    }

    private string ConfigPath => Path.Combine(_folder.Path, "lockstep.yaml");

    private void WriteConfig(bool withArchive, string extra = "") => File.WriteAllText(ConfigPath, $$"""
        storage: sqlite:lockstep.db
        systems:
          registry: { type: http, url: "{{_registry.Url}}" }
          archive: { type: http, url: "{{_archive.Url}}" }
        flows:
          to-registry: { on: [permitApproved], to: registry, upsert: "PUT /api/records/{key}" }
        {{(withArchive ? "  to-archive: { on: [permitApproved], to: archive, upsert: \"PUT /api/records/{key}\", retry: { maxAttempts: 50, initialDelay: 10m, maxDelay: 10m } }" : "")}}
        {{extra}}
        """);

    private static async Task<JsonElement> GetAsync(HttpClient http, string path) =>
        JsonDocument.Parse(await http.GetStringAsync(path)).RootElement.Clone();

    private static async Task PublishAsync(HttpClient http, string key, long version)
    {
        using var response = await http.PostAsJsonAsync("/api/events", new { id = $"permit:{key}:{version}", type = "permitApproved", entity = "permit", key, version, data = new { id = key } });
        response.EnsureSuccessStatusCode();
    }

    private static async Task<int> GenerationAsync(HttpClient http)
    {
        try
        {
            return (await GetAsync(http, "/api/config")).GetProperty("generation").GetInt32();
        }
        catch (HttpRequestException)
        {
            return 0; // the listener is being re-bound
        }
    }

    [Fact]
    public async Task A_pause_set_from_the_cli_holds_across_a_restart_and_a_reload_swaps_flows_while_keeping_a_removed_flow_s_work()
    {
        WriteConfig(withArchive: false);
        await using var lockstep = new LockstepProcess(ConfigPath, new Dictionary<string, string>());
        await lockstep.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(lockstep.Url) };

        var pause = await LockstepProcess.RunAsync(["pause", "flow", "to-registry", "--reason", "partner maintenance", "--url", lockstep.Url]);
        await PublishAsync(http, "P-1", 1);
        Assert.Equal(0, await lockstep.TerminateAsync());
        await lockstep.StartAsync();
        var afterRestart = await GetAsync(http, "/api/status");
        var resume = await LockstepProcess.RunAsync(["resume", "flow", "to-registry", "--url", lockstep.Url]);
        await Eventually.WaitAsync(() => _registry.Records.ContainsKey("P-1"), "delivered after resume", signal: _requests);

        Assert.True(pause.ExitCode == 0, pause.Output);
        Assert.Contains("flow to-registry paused", pause.Output);
        var flow = afterRestart.GetProperty("flows").GetProperty("to-registry");
        Assert.Equal(("paused", 1, "partner maintenance"), (flow.GetProperty("state").GetString(), flow.GetProperty("pending").GetInt32(), flow.GetProperty("paused").GetProperty("reason").GetString()));
        Assert.True(resume.ExitCode == 0, resume.Output);
        Assert.Contains("1 waiting deliveries made due now", resume.Output);

        // SIGHUP: a flow is added without a restart of the process.
        WriteConfig(withArchive: true);
        await lockstep.SignalAsync("HUP");
        await Eventually.WaitAsync(async () => await GenerationAsync(http) == 2, "generation 2 running");
        await PublishAsync(http, "P-2", 1);
        await Eventually.WaitAsync(() => _archive.Records.ContainsKey("P-2") && _registry.Records.ContainsKey("P-2"), "both flows delivered", signal: _requests);

        // An invalid file: the same file:line errors as validate, and nothing changes.
        WriteConfig(withArchive: true, extra: "bogus: 1");
        var rejected = await LockstepProcess.RunAsync(["reload", "--url", lockstep.Url]);
        var stillTwo = await GenerationAsync(http);

        Assert.Equal(1, rejected.ExitCode);
        Assert.Contains("nothing changed", rejected.Output);
        Assert.Contains("lockstep.yaml:", rejected.Output);
        Assert.Equal(2, stillTwo);

        // Removing a flow keeps its pending work, reported, until an operator drops it.
        _archive.Outage = true;
        await PublishAsync(http, "P-3", 1);
        await Eventually.WaitAsync(() => _registry.Records.ContainsKey("P-3") && _archive.Requests.Any(r => r.Key == "P-3"), "P-3 tried at the archive", signal: _requests);
        WriteConfig(withArchive: false);
        var reloaded = await LockstepProcess.RunAsync(["reload", "--url", lockstep.Url]);
        var status = await GetAsync(http, "/api/status");
        var dropped = await LockstepProcess.RunAsync(["drop-work", "to-archive", "--url", lockstep.Url]);
        var afterDrop = await GetAsync(http, "/api/status");
        var audit = await GetAsync(http, "/api/audit");

        Assert.True(reloaded.ExitCode == 0, reloaded.Output);
        Assert.Contains("flow to-archive: removed; its 1 pending/dead deliveries stay in the journal", reloaded.Output);
        Assert.Contains("generation 3 is running", reloaded.Output);
        Assert.Equal(1, status.GetProperty("removedFlows").GetProperty("to-archive").GetProperty("pending").GetInt32());
        Assert.Contains("1 deliveries dropped", dropped.Output);
        Assert.False(afterDrop.TryGetProperty("removedFlows", out var left) && left.ValueKind == JsonValueKind.Object, afterDrop.ToString());
        var actions = audit.EnumerateArray().Select(a => a.GetProperty("action").GetString()).ToList();
        Assert.Contains("pause", actions);
        Assert.Contains("resume", actions);
        Assert.Contains("reload config", actions);
        Assert.Contains("drop removed flow", actions);
    }
}
