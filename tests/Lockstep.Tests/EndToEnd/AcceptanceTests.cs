using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Lockstep.Cli.Demo;
using Lockstep.Tests.Configuration;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.EndToEnd;

/// <summary>
/// The core issue's acceptance example, as written, run as the real program: thousands of shuffled, resent and deleting
/// events for hundreds of permits against a registry that answers 503 to a fifth of requests, with SIGKILLs mid-delivery.
/// </summary>
public sealed class AcceptanceTests
{
    private const string Token = "reg-tok-5b0e9d71c3aa";

    [Fact]
    public async Task Converges_to_the_newest_state_through_failures_and_sigkills()
    {
        using var folder = new TempFolder();
        await using var registry = await SampleRegistry.StartAsync(failureRate: 0.2, seed: 11);
        var configPath = Path.Combine(folder.Path, "lockstep.yaml");
        await File.WriteAllTextAsync(configPath, ConfigLoaderTests.Acceptance.Replace("http://127.0.0.1:9001", registry.Url));
        var environment = new Dictionary<string, string> { ["REGISTRY_TOKEN"] = Token };
        var (validateCode, validateOutput) = await LockstepProcess.RunAsync(["validate", configPath], environment);
        await using var lockstep = new LockstepProcess(configPath, environment);
        await lockstep.StartAsync();
        var (batches, expected) = Events(permits: 400, seed: 5);

        var kills = 0;
        // Registry request counts when each process died and when its successor was ready: requests from the killed process
        // all come before the second mark, those of its successor all after the first.
        var marks = new List<(int Dead, int Started)>();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        for (var i = 0; i < batches.Count; i++)
        {
            await PublishAsync(http, lockstep.Url, batches[i]);
            if (i is 3 or 9 or 15 || i == batches.Count - 1)
            {
                // Killed right after an accepted publish: its deliveries are claimed and in flight.
                var before = registry.Requests.Count;
                await Eventually.WaitAsync(() => registry.Requests.Count > before, "a delivery under way");
                await lockstep.KillAsync();
                kills++;
                var dead = registry.Requests.Count;
                await lockstep.StartAsync();
                marks.Add((dead, registry.Requests.Count));
            }
        }
        await Eventually.WaitAsync(async () => (await Status(http, lockstep.Url)).GetProperty("state").GetString() == "synced", "synced", TimeSpan.FromMinutes(3));
        var status = await http.GetStringAsync($"{lockstep.Url}/api/status");

        Assert.Equal((0, "ok"), (validateCode, validateOutput.Trim()));
        Assert.Equal(4, kills);
        Assert.Equal(5, lockstep.Starts);
        Assert.Equal(expected.Count, registry.Records.Count);
        foreach (var (key, version) in expected)
        {
            Assert.True(registry.Records.TryGetValue(key, out var held), $"{key} missing at the registry");
            Assert.Equal(version, held.Version);
            Assert.Contains($"\"rev\":{version}", held.Body);
        }
        Assert.Equal(0, registry.Regressions);
        Assert.All(registry.Requests, r => Assert.Equal($"permits-to-registry:permit:{r.Key}:{r.Version}", r.IdempotencyKey));
        // Effectively once: a key is applied once; a repeat (its outcome lost with a killed process) is the same request again,
        // sent by a later process than the one whose request applied it.
        Assert.Equal(0, registry.MismatchedRepeats);
        var requests = registry.Requests.ToArray();
        var appliedAt = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < requests.Length; i++)
        {
            if (requests[i].Status is 200 or 204 && !requests[i].Repeat) appliedAt[requests[i].IdempotencyKey] = i;
        }
        for (var j = 0; j < requests.Length; j++)
        {
            if (!requests[j].Repeat) continue;
            var i = appliedAt[requests[j].IdempotencyKey];
            Assert.True(marks.Any(m => i < m.Started && j >= m.Dead), $"{requests[j].IdempotencyKey} was applied (request {i}) and sent again (request {j}) with no kill in between");
        }
        Assert.True(registry.InjectedFailures > 100);
        Assert.DoesNotContain(Token, status);
        Assert.DoesNotContain(Token, lockstep.Output);
    }

    internal static async Task PublishAsync(HttpClient http, string url, string body)
    {
        // A publish cut off by a kill is sent again: its event ids make the resend a duplicate, never a second event.
        await Eventually.WaitAsync(async () =>
        {
            try
            {
                using var content = new StringContent(body, Encoding.UTF8, "application/json");
                using var response = await http.PostAsync($"{url}/api/events", content);
                Assert.True(response.StatusCode is HttpStatusCode.Accepted, $"publish answered {response.StatusCode}");
                return true;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "publish accepted");
    }

    internal static async Task<JsonElement> Status(HttpClient http, string url)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync($"{url}/api/status"));
        return document.RootElement.Clone();
    }

    /// <summary>Arrays of 100 events: up to 8 versions per permit, shuffled, 5% sent twice, a tenth ending in a delete.</summary>
    internal static (List<string> Batches, Dictionary<string, long> Expected) Events(int permits, int seed)
    {
        var random = new Random(seed);
        var events = new List<string>();
        var expected = new Dictionary<string, long>();
        for (var p = 0; p < permits; p++)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"P-{1000 + p}");
            var versions = random.Next(1, 9);
            var deleted = random.NextDouble() < 0.1;
            for (var v = 1; v <= versions; v++)
            {
                var delete = deleted && v == versions;
                events.Add(delete
                    ? $$"""{"type":"permitApproved","entity":"permit","key":"{{key}}","version":{{v}},"op":"delete"}"""
                    : $$"""{"type":"permitApproved","entity":"permit","key":"{{key}}","version":{{v}},"data":{"id":"{{key}}","rev":{{v}},"owner":{"firstName":"Ada","lastName":"L{{v}}"},"location":{"lat":45.1,"lng":-73.2""" + "}}}");
            }
            if (!deleted) expected[key] = versions;
        }
        var shuffled = events.OrderBy(_ => random.Next()).ToList();
        shuffled.AddRange(shuffled.Where(_ => random.NextDouble() < 0.05).ToList());
        var batches = shuffled.Chunk(100).Select(chunk => "[" + string.Join(',', chunk) + "]").ToList();
        return (batches, expected);
    }
}
