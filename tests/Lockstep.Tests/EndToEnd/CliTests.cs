using Lockstep.Cli.Demo;
using Lockstep.Tests.Configuration;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.EndToEnd;

/// <summary>The <c>lockstep</c> verbs as a user runs them: real child processes against a real running Lockstep.</summary>
public sealed class CliTests
{
    private static readonly Dictionary<string, string> Env = new() { ["REGISTRY_TOKEN"] = "cli-tok-99ab01f" };

    [Fact]
    public async Task Validate_prints_every_error_with_file_and_line_and_exits_1()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "bad.yaml");
        await File.WriteAllTextAsync(path, ConfigLoaderTests.Acceptance.Replace("to: registry", "to: nowhere").Replace("concurrency: 16", "concurrency: 0"));

        var (code, output) = await LockstepProcess.RunAsync(["validate", path], Env);

        Assert.Equal(1, code);
        Assert.Contains($"{path}:7: systems.registry.concurrency: 0 must be between 1 and 1024", output);
        Assert.Contains($"{path}:11: flows.permits-to-registry.to: unknown system 'nowhere'", output);
    }

    [Fact]
    public async Task Validate_and_run_name_the_variable_of_a_bad_value_never_the_value()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "lockstep.yaml");
        await File.WriteAllTextAsync(path, ConfigLoaderTests.Acceptance.Replace("concurrency: 16", "concurrency: ${REGISTRY_TOKEN}"));

        var validate = await LockstepProcess.RunAsync(["validate", path], Env);
        var run = await LockstepProcess.RunAsync(["run", "--config", path], Env);

        foreach (var (code, output) in new[] { validate, run })
        {
            Assert.Equal(1, code);
            Assert.Contains($"{path}:7: systems.registry.concurrency: the value of ${{REGISTRY_TOKEN}} is not a whole number", output);
            Assert.DoesNotContain("cli-tok", output, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Validate_refuses_a_webhook_source_that_verifies_nothing_and_accepts_verify_none()
    {
        using var folder = new TempFolder();
        var empty = Path.Combine(folder.Path, "empty.yaml");
        var none = Path.Combine(folder.Path, "none.yaml");
        const string Hooks = "\nsources:\n  hooks:\n    type: webhook\n    verify: VERIFY\n    entity: permit\n    key: permitId\n";
        await File.WriteAllTextAsync(empty, ConfigLoaderTests.Acceptance + Hooks.Replace("VERIFY", "{ tolerance: 10m }"));
        await File.WriteAllTextAsync(none, ConfigLoaderTests.Acceptance + Hooks.Replace("VERIFY", "none"));

        var refused = await LockstepProcess.RunAsync(["validate", empty], Env);
        var accepted = await LockstepProcess.RunAsync(["validate", none], Env);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"{empty}:22: sources.hooks.verify: verifies nothing", refused.Output);
        Assert.Equal((0, "ok"), (accepted.ExitCode, accepted.Output.Trim()));
    }

    [Fact]
    public async Task Publish_status_and_dead_letters_from_the_command_line()
    {
        using var folder = new TempFolder();
        await using var registry = await SampleRegistry.StartAsync(failureRate: 0);
        registry.Override = key => key == "P-2" ? 400 : null;
        var config = Path.Combine(folder.Path, "lockstep.yaml");
        await File.WriteAllTextAsync(config, ConfigLoaderTests.Acceptance.Replace("http://127.0.0.1:9001", registry.Url));
        var events = Path.Combine(folder.Path, "events.ndjson");
        await File.WriteAllLinesAsync(events, [.. Enumerable.Range(1, 3).Select(i =>
            $$"""{"type":"permitApproved","entity":"permit","key":"P-{{i}}","version":1,"data":{"id":"P-{{i}}","rev":1,"owner":{"firstName":"A","lastName":"B"},"location":{"lat":1,"lng":2""" + "}}}")]);
        await using var lockstep = new LockstepProcess(config, Env);
        await lockstep.StartAsync();

        var publish = await LockstepProcess.RunAsync(["publish", events, "--url", lockstep.Url]);
        await Eventually.WaitAsync(() => registry.Requests.Count >= 3, "three requests");
        await Eventually.WaitAsync(async () => (await LockstepProcess.RunAsync(["status", "--url", lockstep.Url, "--json"])).Output.Contains("\"dead\": 1", StringComparison.Ordinal), "the dead letter counted");
        var status = await LockstepProcess.RunAsync(["status", "--url", lockstep.Url]);
        var list = await LockstepProcess.RunAsync(["dead", "list", "--url", lockstep.Url, "--json"]);
        var id = System.Text.Json.JsonDocument.Parse(list.Output).RootElement[0].GetProperty("id").GetInt64();
        registry.Override = null;
        var replay = await LockstepProcess.RunAsync(["dead", "replay", "--url", lockstep.Url, "--id", id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await Eventually.WaitAsync(async () => (await LockstepProcess.RunAsync(["status", "--url", lockstep.Url])).ExitCode == 0, "synced after the replay");
        var unreachable = await LockstepProcess.RunAsync(["status", "--url", "http://127.0.0.1:9"]);

        Assert.Equal(0, publish.ExitCode);
        Assert.Contains("3 events sent: 3 accepted", publish.Output);
        Assert.Equal(2, status.ExitCode);
        Assert.Contains("failing", status.Output);
        Assert.Contains("HTTP 400", list.Output);
        Assert.Equal((0, "replayed 1"), (replay.ExitCode, replay.Output.Trim()));
        Assert.Equal(3, registry.Records.Count);
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Contains("cannot reach Lockstep", unreachable.Output);
    }

    [Fact]
    public async Task Run_writes_json_logs_on_request()
    {
        using var folder = new TempFolder();
        var config = Path.Combine(folder.Path, "lockstep.yaml");
        await File.WriteAllTextAsync(config, ConfigLoaderTests.Acceptance);
        await using var lockstep = new LockstepProcess(config, Env, "--log-format", "json");

        await lockstep.StartAsync();
        await lockstep.KillAsync();

        var lines = lockstep.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, line => Assert.Equal(System.Text.Json.JsonValueKind.Object, System.Text.Json.JsonDocument.Parse(line).RootElement.ValueKind));
        Assert.Contains(lines, line => line.Contains("\"Category\":\"Lockstep.Host\"", StringComparison.Ordinal) || line.Contains("\"Category\":\"Microsoft.Hosting.Lifetime\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Demo_runs_end_to_end_with_nothing_installed_and_exits_0()
    {
        var (code, output) = await LockstepProcess.RunAsync(["demo", "--permits", "60"]);

        Assert.True(code == 0, output);
        Assert.Contains("Converged", output);
        Assert.Contains("0 version regressions", output);
    }
}
