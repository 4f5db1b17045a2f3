using System.Text;
using Lockstep.Host;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;

namespace Lockstep.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's Chromium, driven by Playwright) against a real engine and host: a failing
/// system turns green without a reload, and a dead letter is replayed by clicking its button.
/// </summary>
public sealed class DashboardBrowserTests
{
    private const string Operator = "ops-key-browser-8c7b6a5d4e";
    private const string Publisher = "pub-key-browser-3f2e1d0c9b";
    private static readonly LocatorAssertionsToHaveTextOptions Bounded = new() { Timeout = (float)Eventually.Limit.TotalMilliseconds };

    [Fact]
    public async Task A_failing_system_turns_green_live_and_a_dead_letter_is_replayed_by_clicking()
    {
        using var folder = new TempFolder();
        var down = true;
        var rejecting = true;
        await using var target = await PartnerServer.StartAsync(app => app.MapPut("/shipments/{key}", (string key) =>
            Volatile.Read(ref down) ? Results.StatusCode(503)
            : key == "S-2" && Volatile.Read(ref rejecting) ? Results.BadRequest("qty must be positive")
            : Results.NoContent()));
        var yaml = $$"""
            storage: sqlite:lockstep.db
            security:
              apiKeys:
                - { name: ops, role: operator, key: "${OPERATOR_KEY}" }
                - { name: app, role: publisher, key: "${PUBLISHER_KEY}" }
            systems:
              logistics: { type: http, url: "{{target.Url}}", circuit: { minimumThroughput: 1000 } }
            flows:
              aid-to-logistics:
                entity: supply
                to: logistics
                upsert: PUT /shipments/{key}
                retry: { maxAttempts: 1000, initialDelay: 100ms, maxDelay: 200ms }
            """;
        var config = TestEngine.Load(yaml, folder.Path, new Dictionary<string, string> { ["OPERATOR_KEY"] = Operator, ["PUBLISHER_KEY"] = Publisher });
        await using var app = LockstepHost.Build(config, "http://127.0.0.1:0");
        await app.StartAsync();
        var url = app.ListeningUrl();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-quic"],
        });
        var page = await browser.NewPageAsync();
        var state = page.Locator("#systems tbody tr").First.Locator("td").Nth(1);

        await PublishAsync(url, "S-1");
        await page.GotoAsync(url);
        await page.FillAsync("#key", Operator);
        await page.ClickAsync("form button");
        await Assertions.Expect(state).ToHaveTextAsync("failing", Bounded);
        await page.EvaluateAsync("() => window.notReloaded = true");
        Volatile.Write(ref down, false);
        await Assertions.Expect(state).ToHaveTextAsync("synced", Bounded);
        var live = await page.EvaluateAsync<string>("() => document.body.dataset.live");
        var sameDocument = await page.EvaluateAsync<bool>("() => window.notReloaded === true");

        await PublishAsync(url, "S-2");
        var replay = page.Locator("#dead tbody button[data-replay]");
        await Assertions.Expect(page.Locator("#dead tbody tr")).ToHaveCountAsync(1, new() { Timeout = (float)Eventually.Limit.TotalMilliseconds });
        await Assertions.Expect(state).ToHaveTextAsync("failing", Bounded);
        Volatile.Write(ref rejecting, false);
        await replay.ClickAsync();
        await Assertions.Expect(page.Locator("#dead tbody tr")).ToHaveCountAsync(0, new() { Timeout = (float)Eventually.Limit.TotalMilliseconds });
        await Assertions.Expect(state).ToHaveTextAsync("synced", Bounded);
        var delivered = page.Locator("#systems tbody tr").First.Locator("td").Nth(4);

        Assert.Equal("sse", live);
        Assert.True(sameDocument);
        await Assertions.Expect(delivered).ToHaveTextAsync("2", Bounded);
        // The circuit cell says the adaptive concurrency limit (and, while open, when the next probe goes).
        await Assertions.Expect(page.Locator("#systems tbody tr").First.Locator("td").Nth(7)).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^closed · limit \\d+$"), Bounded);
        var audit = await GetAsync(url, "/api/audit");
        Assert.Contains("\"actor\":\"ops\"", audit);
        Assert.Contains("\"action\":\"replay\"", audit);
        await app.StopAsync();
    }

    private static async Task PublishAsync(string url, string key)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/events")
        {
            Content = new StringContent($$$"""{"type":"supplyMoved","entity":"supply","key":"{{{key}}}","version":1,"data":{"id":"{{{key}}}"}}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Api-Key", Publisher);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    private static async Task<string> GetAsync(string url, string path)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        http.DefaultRequestHeaders.Add("X-Api-Key", Operator);
        return await http.GetStringAsync(path);
    }
}
