using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Lockstep.Cli.Demo;
using Lockstep.Connectors;
using Lockstep.Deliveries;
using Lockstep.Engines;
using Lockstep.Host;
using Lockstep.Journal;
using Lockstep.Storage.Sqlite;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lockstep.Tests.Deliveries;

/// <summary>
/// Outcome commits that keep failing (injected in front of the real SQLite journal, as a full disk would fail them):
/// delivery never stops, the host says so on every surface, and it recovers by itself. Real host on 127.0.0.1, fake time.
/// </summary>
public sealed class CommitFailureTests
{
    private const string Secret = "whsec_Y29tbWl0LWZhaWx1cmUtdGVzdC1zZWNyZXQ=";

    [Fact]
    public async Task Outcome_commits_retry_past_100_failures_readiness_fails_and_recovers_and_every_outcome_is_committed_once()
    {
        var time = Clock.Fake();
        var notices = new ConcurrentQueue<string>();
        var noticed = new Signal();
        await using var hook = await PartnerServer.StartAsync(app => app.MapPost("/notify", async (HttpContext context) =>
        {
            notices.Enqueue(await new StreamReader(context.Request.Body).ReadToEndAsync());
            noticed.Pulse();
            return Results.NoContent();
        }));
        await using var registry = await SampleRegistry.StartAsync(failureRate: 0);
        using var folder = new TempFolder();
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              registry: { type: http, url: "{{registry.Url}}", concurrency: 4 }
            notify:
              ops: { type: webhook, url: "{{hook.Url}}/notify", secret: "${NOTIFY_SECRET}", on: [journal], window: 10s }
            flows:
              permits:
                on: [permitApproved]
                to: registry
                upsert: PUT /api/records/{key}
            """;
        var config = TestEngine.Load(yaml, folder.Path, new Dictionary<string, string> { ["NOTIFY_SECRET"] = Secret });
        FlakyJournal flaky = null!;
        await using var app = LockstepHost.Build(config, "http://127.0.0.1:0", services =>
        {
            services.AddSingleton<TimeProvider>(time);
            // The composition root builds the engine as usual, over the real journal behind the failure injector.
            services.AddSingleton<IJournal>(_ => flaky = new FlakyJournal(new SqliteJournalProvider().Create(config, time), failCompletions: 150));
        });
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.ListeningUrl()) };

        var first = await PublishAsync(http, Enumerable.Range(1, 20));
        await Eventually.WaitAsync(async () => (await HostProbe.ReadyAsync(http)).Status == HttpStatusCode.ServiceUnavailable, "readiness 503 while outcomes cannot be committed");
        var unready = await HostProbe.ReadyAsync(http);
        var failing = await HostProbe.GetJsonAsync(http, "/api/status");
        var metrics = await http.GetStringAsync("/metrics");
        await Eventually.AdvanceUntilAsync(time, TimeSpan.FromSeconds(5), async () => flaky.Failed >= 150 && (await HostProbe.ReadyAsync(http)).Status == HttpStatusCode.OK,
            "150 failed commits, then readiness again", flaky.Attempted);
        await HostProbe.WaitSyncedAsync(http);
        var second = await PublishAsync(http, Enumerable.Range(21, 5));
        await HostProbe.WaitSyncedAsync(http);
        await Eventually.AdvanceUntilAsync(time, TimeSpan.FromSeconds(5), () => Task.FromResult(notices.Any(n => n.Contains("journal writable again", StringComparison.Ordinal))),
            "the notice that the journal is writable again", noticed);

        Assert.Equal((HttpStatusCode.Accepted, HttpStatusCode.Accepted), (first, second));
        Assert.Equal("journal-unwritable", unready.Body.GetProperty("status").GetString());
        Assert.Equal("failing", failing.GetProperty("state").GetString());
        var journalStatus = failing.GetProperty("journal");
        Assert.Equal("unwritable", journalStatus.GetProperty("state").GetString());
        Assert.Contains("outcomes", journalStatus.GetProperty("failing").EnumerateArray().Select(e => e.GetString()));
        Assert.True(journalStatus.GetProperty("uncommittedOutcomes").GetInt64() > 0, journalStatus.ToString());
        Assert.Contains("No space left on device", journalStatus.GetProperty("lastError").GetString());
        Assert.Contains("\nlockstep_journal_writable 0", metrics);
        Assert.Equal(150, flaky.Failed);
        Assert.Contains("\nlockstep_journal_writable 1", await http.GetStringAsync("/metrics"));
        Assert.Contains(notices, n => n.Contains("journal unwritable", StringComparison.Ordinal) && n.Contains("No space left on device", StringComparison.Ordinal));
        // Every outcome committed exactly once, and each record reached the target exactly once (no redelivery).
        var committed = flaky.Committed.ToList();
        Assert.Equal(25, committed.Count);
        Assert.All(committed, c => Assert.Equal(CompletionKind.Delivered, c.Kind));
        Assert.Equal(Enumerable.Range(1, 25).Select(i => $"P-{i}").Order(StringComparer.Ordinal), committed.Select(c => c.Key).Order(StringComparer.Ordinal));
        Assert.Equal(25, registry.Requests.Count);
        Assert.Equal(25, registry.Requests.Select(r => r.Key).Distinct().Count());
    }

    private static async Task<HttpStatusCode> PublishAsync(HttpClient http, IEnumerable<int> numbers)
    {
        var body = "[" + string.Join(",", numbers.Select(i => $$$"""{"type":"permitApproved","entity":"permit","key":"P-{{{i}}}","version":1,"data":{"id":"P-{{{i}}}"}}""")) + "]";
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("/api/events", content);
        return response.StatusCode;
    }
}
