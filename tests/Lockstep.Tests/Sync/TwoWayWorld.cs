using System.Security.Cryptography;
using System.Text.Json;
using Lockstep.Host;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Sync;

/// <summary>
/// The clerk and the marshal (real Kestrel servers) kept equal both ways by the real Lockstep host on a real SQLite
/// journal, with a fake clock: polls and retries run when the test moves time.
/// </summary>
internal sealed class TwoWayWorld : IAsyncDisposable
{
    public const string Yaml = """
        storage: sqlite:data/lockstep.db
        systems:
          clerk:   { type: http, url: CLERK_URL, timeout: 1h }       # the test moves the clock while requests run
          marshal: { type: http, url: MARSHAL_URL, timeout: 1h }
        sources:
          clerk-permits:
            type: http-poll
            from: clerk
            get: GET /permits?since={cursor}
            interval: 2s
            entity: permit
            key: id
            version: updatedAt
            cursor: updatedAt
            tombstone: deleted
          marshal-hooks:
            type: webhook
            verify: { standardWebhooks: "${MARSHAL_WEBHOOK_SECRET}" }
            map: |
              (b) => ({ entity: "permit", key: b.permitId, version: b.rev, op: b.deleted ? "delete" : "upsert",
                        data: { id: b.permitId, location: b.address, status: b.status, updatedAt: b.updatedAt } })
        flows:
          permits-to-marshal:
            entity: permit
            to: marshal
            map: (p) => ({ permitId: p.id, address: p.location, status: p.status, updatedAt: p.updatedAt })
            upsert: PUT /inspections/{key}
            delete: DELETE /inspections/{key}
            retry: { maxAttempts: 1000, initialDelay: 1s, maxDelay: 1s }
          permits-to-clerk:
            entity: permit
            to: clerk
            map: (p) => ({ location: p.location, status: p.status })
            upsert: PUT /permits/{key}
            delete: DELETE /permits/{key}
            retry: { maxAttempts: 1000, initialDelay: 1s, maxDelay: 1s }
        sync:
          permits-clerk-marshal:
            entity: permit
            source: { system: clerk, from: clerk-permits, to: permits-to-clerk }
            target: { system: marshal, from: marshal-hooks, to: permits-to-marshal }
            policy: POLICY
            timestampField: updatedAt
            fallback: FALLBACK
        """;

    private readonly TempFolder _folder;

    private TwoWayWorld(FakeTimeProvider time, SyncClerk clerk, SyncMarshal marshal, WebApplication app, TempFolder folder)
    {
        _folder = folder;
        Time = time;
        Clerk = clerk;
        Marshal = marshal;
        App = app;
        Http = new HttpClient { BaseAddress = new Uri(app.ListeningUrl()) };
        app.Services.GetRequiredService<Lockstep.Engines.LockstepEngine>().Delivered += _ => Committed.Pulse();
    }

    /// <summary>Pulses after every committed batch of delivery outcomes; between pulses the clock moves a step per 50 ms.</summary>
    public Signal Committed { get; } = new();

    public FakeTimeProvider Time { get; }

    public SyncClerk Clerk { get; }

    public SyncMarshal Marshal { get; }

    public WebApplication App { get; }

    public HttpClient Http { get; }

    /// <param name="notifyUrl">When given, a notify channel posting conflict notices there (window 2 s).</param>
    public static async Task<TwoWayWorld> StartAsync(string policy, string fallback = "sourceWins", string? notifyUrl = null)
    {
        var secret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var clerk = await SyncClerk.StartAsync();
        var marshal = await SyncMarshal.StartAsync(secret, () => time.GetUtcNow());
        var folder = new TempFolder();
        var yaml = Yaml.Replace("CLERK_URL", clerk.Url).Replace("MARSHAL_URL", marshal.Url).Replace("POLICY", policy).Replace("FALLBACK", fallback);
        if (notifyUrl is not null)
            yaml += $"\nnotify:\n  ops: {{ type: webhook, url: \"{notifyUrl}\", secret: \"${{MARSHAL_WEBHOOK_SECRET}}\", on: [conflict], window: 2s }}\n";
        var config = TestEngine.Load(yaml, folder.Path, new Dictionary<string, string> { ["MARSHAL_WEBHOOK_SECRET"] = secret });
        var app = LockstepHost.Build(config, "http://127.0.0.1:0", services => services.AddSingleton<TimeProvider>(time), Microsoft.Extensions.Logging.LogLevel.Warning);
        await app.StartAsync();
        var world = new TwoWayWorld(time, clerk, marshal, app, folder);
        marshal.HookUrl = app.ListeningUrl() + "/webhooks/marshal-hooks";
        return world;
    }

    /// <summary>Moves the clock a second at a time (polls every 2 s, retries every 1 s) until the condition holds.</summary>
    public Task SettleAsync(Func<bool> condition, string what) =>
        Eventually.AdvanceUntilAsync(Time, TimeSpan.FromSeconds(1), () => Task.FromResult(condition()), what, Committed);

    /// <summary>Runs the clock for a while (several polls) and waits until Lockstep reports everything delivered.</summary>
    public async Task QuiesceAsync()
    {
        for (var i = 0; i < 3; i++)
        {
            await Eventually.AdvanceUntilAsync(Time, TimeSpan.FromSeconds(1), async () => (await StatusAsync()).GetProperty("state").GetString() == "synced", "synced", Committed);
            Time.Advance(TimeSpan.FromSeconds(2));
        }
        await Eventually.AdvanceUntilAsync(Time, TimeSpan.FromSeconds(1), async () => (await StatusAsync()).GetProperty("state").GetString() == "synced", "synced", Committed);
    }

    public async Task<JsonElement> StatusAsync() => await GetJsonAsync("/api/status");

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var document = JsonDocument.Parse(await Http.GetStringAsync(path));
        return document.RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await Marshal.DisposeAsync();
        await Clerk.DisposeAsync();
        _folder.Dispose();
    }
}
