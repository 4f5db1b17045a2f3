using System.Net;
using System.Text;
using System.Text.Json;
using Lockstep.Cli.Demo;
using Lockstep.Host;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;

namespace Lockstep.Tests.Api;

/// <summary>
/// The journal on a really full disk: a small tmpfs (LOCKSTEP_TEST_SMALLDISK, mounted by ./test.sh and
/// tests/with-services.sh) filled up with a filler file, then freed. Real host on 127.0.0.1, real SQLite, real time.
/// </summary>
public sealed class FullDiskTests
{
    private const string HowToRun =
        "LOCKSTEP_TEST_SMALLDISK is not set: this test needs a small disk of its own to fill. Run it through ./test.sh or "
        + "tests/with-services.sh (they mount a 4 MB tmpfs as root), or mount one yourself: "
        + "d=$(mktemp -d); sudo mount -t tmpfs -o size=4m tmpfs $d; LOCKSTEP_TEST_SMALLDISK=$d dotnet test ...";

    [Fact]
    public async Task A_full_disk_turns_publish_and_webhooks_away_with_503_fails_readiness_and_recovers_when_space_returns()
    {
        var disk = Environment.GetEnvironmentVariable("LOCKSTEP_TEST_SMALLDISK");
        Assert.False(string.IsNullOrEmpty(disk), HowToRun);
        var folder = Directory.CreateDirectory(Path.Combine(disk, "full-disk-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        var filler = Path.Combine(disk, "filler-" + Guid.NewGuid().ToString("N")[..8]);
        await using var registry = await SampleRegistry.StartAsync(failureRate: 0);
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              registry: { type: http, url: "{{registry.Url}}", concurrency: 4 }
            sources:
              partner-hooks:
                type: webhook
                verify: none
                map: (body) => ({ entity: "permit", key: body.id, version: body.rev, data: body })
            flows:
              permits:
                entity: permit
                to: registry
                upsert: PUT /api/records/{key}
            """;
        try
        {
            await using var app = LockstepHost.Build(TestEngine.Load(yaml, folder), "http://127.0.0.1:0");
            await app.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri(app.ListeningUrl()) };
            var acknowledged = new List<string>();
            var refused = new List<string>();

            Assert.Equal(HttpStatusCode.Accepted, (await PublishAsync(http, "before", 3, acknowledged, refused)).Status);
            await HostProbe.WaitSyncedAsync(http);
            Fill(filler);
            var answers = new List<(HttpStatusCode Status, string? Type, string? RetryAfter)>();
            for (var round = 0; round < 50 && !answers.Any(a => a.Status == HttpStatusCode.ServiceUnavailable); round++)
                answers.Add(await PublishAsync(http, $"full{round}-", 10, acknowledged, refused));
            var hookWhileFull = await PushAsync(http, "W-1");
            var readyWhileFull = await HostProbe.ReadyAsync(http);
            var statusWhileFull = await HostProbe.GetJsonAsync(http, "/api/status");
            var metricsWhileFull = await http.GetStringAsync("/metrics");
            var cliWhileFull = await LockstepProcess.RunAsync(["status", "--url", app.ListeningUrl()]);
            File.Delete(filler);
            await Eventually.WaitAsync(async () => (await HostProbe.ReadyAsync(http)).Status == HttpStatusCode.OK, "readiness back once the disk has room");
            var after = await PublishAsync(http, "after", 3, acknowledged, refused);
            var hookAfter = await PushAsync(http, "W-2");
            await HostProbe.WaitSyncedAsync(http);

            Assert.All(answers, a => Assert.Contains(a.Status, new[] { HttpStatusCode.Accepted, HttpStatusCode.ServiceUnavailable }));
            var unavailable = answers.Last();
            Assert.Equal((HttpStatusCode.ServiceUnavailable, "application/problem+json"), (unavailable.Status, unavailable.Type));
            Assert.NotNull(unavailable.RetryAfter);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, hookWhileFull.Status);
            Assert.NotNull(hookWhileFull.RetryAfter);
            Assert.Equal((HttpStatusCode.ServiceUnavailable, "journal-unwritable"), (readyWhileFull.Status, readyWhileFull.Body.GetProperty("status").GetString()));
            Assert.Equal("failing", statusWhileFull.GetProperty("state").GetString());
            Assert.Equal("unwritable", statusWhileFull.GetProperty("journal").GetProperty("state").GetString());
            Assert.Contains("intake", statusWhileFull.GetProperty("journal").GetProperty("failing").EnumerateArray().Select(e => e.GetString()));
            Assert.Contains("\nlockstep_journal_writable 0", metricsWhileFull);
            Assert.Equal(2, cliWhileFull.ExitCode);
            Assert.Contains("Journal unwritable", cliWhileFull.Output);
            Assert.Equal(HttpStatusCode.Accepted, after.Status);
            Assert.Equal(HttpStatusCode.Accepted, hookAfter.Status);
            Assert.Equal("ok", (await HostProbe.GetJsonAsync(http, "/api/status")).GetProperty("journal").GetProperty("state").GetString());
            // Everything acknowledged reached the target; nothing refused was stored.
            acknowledged.Add("W-2");
            Assert.Equal(acknowledged.Order(StringComparer.Ordinal), registry.Records.Keys.Order(StringComparer.Ordinal));
            Assert.DoesNotContain(refused, registry.Records.ContainsKey);
            Assert.False(registry.Records.ContainsKey("W-1"));
        }
        finally
        {
            File.Delete(filler);
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Writes until the disk refuses (ENOSPC), in shrinking chunks so that no page is left free.</summary>
    private static void Fill(string path)
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1);
        foreach (var size in new[] { 64 * 1024, 4096, 512 })
        {
            var chunk = new byte[size];
            try
            {
                while (true) file.Write(chunk);
            }
            catch (IOException)
            {
                // Full at this chunk size; the next, smaller one takes what is left.
            }
        }
    }

    private static async Task<(HttpStatusCode Status, string? Type, string? RetryAfter)> PublishAsync(
        HttpClient http, string prefix, int count, List<string> acknowledged, List<string> refused)
    {
        var keys = Enumerable.Range(1, count).Select(i => $"{prefix}{i}").ToList();
        var padding = new string('x', 1000);
        var body = "[" + string.Join(",", keys.Select(k =>
            $$$"""{"type":"permitApproved","entity":"permit","key":"{{{k}}}","version":1,"data":{"id":"{{{k}}}","note":"{{{padding}}}"}}""")) + "]";
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("/api/events", content);
        (response.StatusCode == HttpStatusCode.Accepted ? acknowledged : refused).AddRange(keys);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, response.Headers.RetryAfter?.ToString());
    }

    private static async Task<(HttpStatusCode Status, string? RetryAfter)> PushAsync(HttpClient http, string key)
    {
        using var content = new StringContent($$"""{"id":"{{key}}","rev":1}""", Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/partner-hooks") { Content = content };
        request.Headers.Add("webhook-id", "msg-" + key);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, response.Headers.RetryAfter?.ToString());
    }
}
