using Lockstep.Cli.Demo;
using Lockstep.Tests.Configuration;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.EndToEnd;

/// <summary>
/// The acceptance example on the PostgreSQL journal (<c>storage: postgres:${LOCKSTEP_DB}</c>), run as the real program
/// against the server of tests/services.sh: shuffled, resent and deleting events, a registry failing a fifth of requests,
/// SIGKILLs mid-delivery and restarts; the registry ends with the newest state of every permit.
/// </summary>
public sealed class PostgresAcceptanceTests
{
    private const string Token = "reg-tok-7c1f04e2b9dd";

    [Fact]
    public async Task Converges_to_the_newest_state_through_failures_and_sigkills_on_postgres()
    {
        using var folder = new TempFolder();
        await using var registry = await SampleRegistry.StartAsync(failureRate: 0.2, seed: 17);
        var configPath = Path.Combine(folder.Path, "lockstep.yaml");
        await File.WriteAllTextAsync(configPath, ConfigLoaderTests.Acceptance
            .Replace("storage: sqlite:data/lockstep.db", "storage: postgres:${LOCKSTEP_DB}")
            .Replace("http://127.0.0.1:9001", registry.Url));
        var schema = "e2e_" + Guid.NewGuid().ToString("N");
        var environment = new Dictionary<string, string> { ["REGISTRY_TOKEN"] = Token, ["LOCKSTEP_DB"] = $"{TestServers.Postgres};Schema={schema}" };
        await using var lockstep = new LockstepProcess(configPath, environment);
        await lockstep.StartAsync();
        var (batches, expected) = AcceptanceTests.Events(permits: 200, seed: 8);

        var kills = 0;
        var marks = new List<(int Dead, int Started)>();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        for (var i = 0; i < batches.Count; i++)
        {
            await AcceptanceTests.PublishAsync(http, lockstep.Url, batches[i]);
            if (i is 3 || i == batches.Count - 1)
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
        await Eventually.WaitAsync(async () => (await AcceptanceTests.Status(http, lockstep.Url)).GetProperty("state").GetString() == "synced", "synced", TimeSpan.FromMinutes(3));
        var status = await http.GetStringAsync($"{lockstep.Url}/api/status");

        Assert.Equal(2, kills);
        Assert.Equal(expected.Count, registry.Records.Count);
        foreach (var (key, version) in expected)
        {
            Assert.True(registry.Records.TryGetValue(key, out var held), $"{key} missing at the registry");
            Assert.Equal(version, held.Version);
            Assert.Contains($"\"rev\":{version}", held.Body);
        }
        Assert.Equal(0, registry.Regressions);
        Assert.All(registry.Requests, r => Assert.Equal($"permits-to-registry:permit:{r.Key}:{r.Version}", r.IdempotencyKey));
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
        Assert.DoesNotContain("Password=", status);
        Assert.DoesNotContain("Password=", lockstep.Output);
        Assert.DoesNotContain(Token, lockstep.Output);
    }
}
