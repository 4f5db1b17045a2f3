using System.Net;
using System.Text;
using System.Text.Json;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Connectors.Messaging;

/// <summary>
/// Use case 5 with the example's own configs (examples/emergency-chat), run as two real <c>lockstep</c> processes over the
/// test NATS server: node A relays messages to node B through JetStream while each node is SIGKILLed mid-stream and
/// restarted; node B must hold every message exactly once.
/// </summary>
[Collection("nats broker")]
public sealed class EmergencyChatTests
{
    [Fact]
    public async Task Every_message_reaches_node_b_exactly_once_when_either_node_is_killed_mid_stream()
    {
        using var folder = new TempFolder();
        var id = Guid.NewGuid().ToString("N")[..8];
        var example = Path.Combine(RepositoryRoot(), "examples", "emergency-chat");
        string Copy(string name)
        {
            // A stream and subjects of its own on the shared test server; everything else as the example is written.
            var yaml = File.ReadAllText(Path.Combine(example, name)).Replace("stream: CHAT", $"stream: CHAT{id}", StringComparison.Ordinal).Replace("chat.", $"chat{id}.", StringComparison.Ordinal);
            var path = Path.Combine(folder.Path, name);
            File.WriteAllText(path, yaml);
            return path;
        }
        var environment = new Dictionary<string, string> { ["NATS_URL"] = TestServers.Nats, ["CHAT_DATA"] = folder.Path };
        await using var nodeA = new LockstepProcess(Copy("node-a.yaml"), environment);
        await using var nodeB = new LockstepProcess(Copy("node-b.yaml"), environment);
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
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (!line.EndsWith('}')) continue; // a line being written
            var root = JsonDocument.Parse(line).RootElement;
            lines.Add((root.GetProperty("key").GetString()!, root.GetProperty("idempotencyKey").GetString()!));
        }
        return lines;
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Lockstep.slnx"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("the repository root (Lockstep.slnx) was not found");
    }
}
