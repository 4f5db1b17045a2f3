using System.Net;
using System.Text;
using System.Text.Json;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Connectors.Messaging;

/// <summary>
/// Use case 5 with the example's own configs (examples/emergency-chat), run as two real <c>lockstep</c> processes over
/// one broker of the test servers: node A relays messages to node B while each node is SIGKILLed mid-stream and
/// restarted; node B must hold every message exactly once. Each broker runs it in its own class (its collection, since
/// other tests of that collection kill the broker); the example's <c>run.sh</c> is run for each broker too.
/// </summary>
public abstract class EmergencyChatTests
{
    /// <summary>The argument of run.sh and the infix of the variant's configs ("" for NATS: node-a.yaml).</summary>
    protected abstract string Broker { get; }

    /// <summary>The variant's configs with names of their own (stream, exchange, queue, topics, client ids) on the shared server.</summary>
    protected abstract string Isolate(string yaml, string id);

    /// <summary>The settings the configs read from the environment (NATS_URL, MQTT_URL or AMQP_URL).</summary>
    protected abstract Dictionary<string, string> BrokerEnvironment { get; }

    /// <summary>For run.sh: the environment that makes it use the suite's broker instead of starting one (none: it starts its own).</summary>
    protected virtual Dictionary<string, string> ScriptEnvironment => [];

    [Fact]
    public async Task Every_message_reaches_node_b_exactly_once_when_either_node_is_killed_mid_stream()
    {
        using var folder = new TempFolder();
        var id = Guid.NewGuid().ToString("N")[..8];
        var example = Path.Combine(RepositoryRoot(), "examples", "emergency-chat");
        var suffix = Broker == "nats" ? "" : "." + Broker;
        string Copy(string node)
        {
            // Names of its own on the shared test server; everything else as the example is written.
            var name = $"node-{node}{suffix}.yaml";
            var path = Path.Combine(folder.Path, name);
            File.WriteAllText(path, Isolate(File.ReadAllText(Path.Combine(example, name)), id));
            return path;
        }
        var environment = new Dictionary<string, string>(BrokerEnvironment) { ["CHAT_DATA"] = folder.Path };
        await using var nodeA = new LockstepProcess(Copy("a"), environment);
        await using var nodeB = new LockstepProcess(Copy("b"), environment);
        await nodeA.StartAsync();
        await nodeB.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var inbox = Path.Combine(folder.Path, "node-b-inbox.jsonl");

        for (var batch = 0; batch < 10; batch++)
        {
            await PublishAsync(http, nodeA.Url, batch * 20 + 1, 20);
            if (batch == 2)
            {
                await Eventually.WaitAsync(() => Keys(inbox).Count > 0, "node B receiving");
                await nodeB.KillAsync();
            }
            if (batch == 4) await nodeB.StartAsync();
            if (batch == 6)
            {
                await nodeA.KillAsync();
                await nodeA.StartAsync();
            }
        }
        await Eventually.WaitAsync(() => Keys(inbox).Select(k => k.Key).Distinct().Count() == 200, "200 messages at node B");

        var keys = Keys(inbox);
        Assert.Equal(200, keys.Select(k => k.IdempotencyKey).Distinct().Count());
        // One journal entry per message on node B: a second one for the same key would be version 2.
        Assert.All(keys, k => Assert.EndsWith(":1", k.IdempotencyKey, StringComparison.Ordinal));
        Assert.Equal(2, nodeB.Starts);
        Assert.Equal(2, nodeA.Starts);
    }

    [Fact]
    public async Task Run_sh_relays_every_message_exactly_once_as_its_readme_says()
    {
        var script = Path.Combine(RepositoryRoot(), "examples", "emergency-chat", "run.sh");
        var info = new System.Diagnostics.ProcessStartInfo("bash", [script, Broker]) { RedirectStandardOutput = true, RedirectStandardError = true };
        // The lockstep build beside the tests: the script builds nothing then.
        info.Environment["LOCKSTEP_DLL"] = Path.Combine(AppContext.BaseDirectory, "lockstep.dll");
        foreach (var (name, value) in ScriptEnvironment) info.Environment[name] = value;
        using var process = System.Diagnostics.Process.Start(info)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == 0, await output + await errors);
        Assert.Contains($"OK: all 200 messages reached node B exactly once through {Broker}", await output, StringComparison.Ordinal);
        Assert.DoesNotContain("guest:guest", await output + await errors, StringComparison.Ordinal);
    }

    private static async Task PublishAsync(HttpClient http, string url, int first, int count)
    {
        var body = "[" + string.Join(",", Enumerable.Range(first, count).Select(i =>
            $$$"""{"id":"chat-{{{i}}}","type":"chatMessage","entity":"message","key":"M-{{{i}}}","version":1,"data":{"id":"M-{{{i}}}","from":"node-a","text":"message {{{i}}}"}}""")) + "]";
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri($"{url}/api/events"), content);
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted, $"publish answered {response.StatusCode}");
    }

    private static List<(string Key, string IdempotencyKey)> Keys(string inbox)
    {
        if (!File.Exists(inbox)) return [];
        var lines = new List<(string, string)>();
        using var stream = new FileStream(inbox, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        // One snapshot of the file, cut at its last line break: the tail after it is a line still being written (a
        // reader that met the end of the file mid-line and read on would see its rest as a line of its own).
        var text = Encoding.UTF8.GetString(copy.GetBuffer().AsSpan(0, (int)copy.Length));
        foreach (var line in text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var root = JsonDocument.Parse(line).RootElement;
            lines.Add((root.GetProperty("key").GetString()!, root.GetProperty("idempotencyKey").GetString()!));
        }
        return lines;
    }

    protected static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Lockstep.slnx"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("the repository root (Lockstep.slnx) was not found");
    }
}

[Collection("nats broker")]
public sealed class NatsEmergencyChatTests : EmergencyChatTests
{
    protected override string Broker => "nats";

    protected override Dictionary<string, string> BrokerEnvironment => new() { ["NATS_URL"] = TestServers.Nats };

    protected override string Isolate(string yaml, string id) =>
        yaml.Replace("stream: CHAT", $"stream: CHAT{id}", StringComparison.Ordinal).Replace("chat.", $"chat{id}.", StringComparison.Ordinal);
}

[Collection("mqtt broker")]
public sealed class MqttEmergencyChatTests : EmergencyChatTests
{
    protected override string Broker => "mqtt";

    protected override Dictionary<string, string> BrokerEnvironment => new() { ["MQTT_URL"] = TestServers.Mqtt };

    protected override string Isolate(string yaml, string id) =>
        yaml.Replace("chat/", $"chat{id}/", StringComparison.Ordinal).Replace("clientId: chat-", $"clientId: chat{id}-", StringComparison.Ordinal);
}

/// <summary>RabbitMQ: run.sh gets the suite's broker (AMQP_URL) rather than starting a second RabbitMQ of its own.</summary>
[Collection("amqp broker")]
public sealed class AmqpEmergencyChatTests : EmergencyChatTests
{
    protected override string Broker => "amqp";

    protected override Dictionary<string, string> BrokerEnvironment => new() { ["AMQP_URL"] = TestServers.Amqp };

    protected override Dictionary<string, string> ScriptEnvironment => BrokerEnvironment;

    protected override string Isolate(string yaml, string id) =>
        yaml.Replace("exchange: chat", $"exchange: chat{id}", StringComparison.Ordinal).Replace("queue: chat-node-b", $"queue: chat{id}-node-b", StringComparison.Ordinal)
            .Replace("chat.", $"chat{id}.", StringComparison.Ordinal);
}
