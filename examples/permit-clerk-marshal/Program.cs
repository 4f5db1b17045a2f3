using System.Security.Cryptography;
using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Host;
using Lockstep.Host.Fluent;
using PermitClerkMarshal;

// Use case 3, end to end: starts the sample clerk and marshal, runs Lockstep with lockstep.yaml (or, with --fluent, the
// same setup built in C#), makes changes on both sides, tampers with the marshal, reconciles, and checks the outcome.
//   dotnet run --project examples/permit-clerk-marshal [-- --fluent] [--keep] [--clerk-port N --marshal-port N]
var fluent = args.Contains("--fluent");
var keep = args.Contains("--keep");
var clerkUrl = $"http://127.0.0.1:{Option("--clerk-port") ?? "7001"}";
var marshalUrl = $"http://127.0.0.1:{Option("--marshal-port") ?? "7002"}";
var folder = Directory.CreateTempSubdirectory("lockstep-clerk-marshal-").FullName;
var secret = Environment.GetEnvironmentVariable("MARSHAL_WEBHOOK_SECRET") is { Length: > 0 } s ? s : "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
Environment.SetEnvironmentVariable("MARSHAL_WEBHOOK_SECRET", secret);

var clerk = await SampleClerk.StartAsync(clerkUrl);
var marshal = await SampleMarshal.StartAsync(marshalUrl, secret);
var config = fluent ? Fluent(clerkUrl, marshalUrl, folder) : FromFile(clerkUrl, marshalUrl, folder);
await using var lockstep = LockstepHost.Build(config, "http://127.0.0.1:0");
await lockstep.StartAsync();
var url = lockstep.ListeningUrl();
using var http = new HttpClient();
Console.WriteLine($"clerk {clerkUrl}, marshal {marshalUrl}, lockstep {url} ({(fluent ? "configured in C#" : "lockstep.yaml")}), journal in {folder}");

var failures = new List<string>();
var flow = fluent ? "permit-to-marshal" : "permits-to-marshal"; // the builder names flows ENTITY-to-SYSTEM
// 1. The clerk issues permits and revises some: within a poll interval the marshal holds the same.
for (var i = 1; i <= 12; i++) clerk.Change($"P-{i:D3}", "approved", $"{i} Main St");
clerk.Change("P-003", "revised", "3 Main St, rear");
clerk.Change("P-007", "revoked", "7 Main St");
await WaitAsync("the marshal equals the clerk", () => Equal(clerk, marshal));
Console.WriteLine($"1. marshal holds {marshal.Inspections.Count} inspections, equal to the clerk's permits");

// 2. The marshal pushes its inspection results back: signed webhooks are journaled once; bad ones are refused.
var pushed = new[]
{
    await marshal.PushAsync(url, "P-001", 1, "passed"),
    await marshal.PushAsync(url, "P-002", 1, "failed"),
    await marshal.PushAsync(url, "P-001", 1, "passed"),                                   // replay of the same webhook-id
};
var forged = await new SampleMarshal(marshal.App, "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24))).PushAsync(url, "P-003", 1, "passed");
var stale = await marshal.PushAsync(url, "P-004", 1, "passed", at: DateTimeOffset.UtcNow.AddMinutes(-6));
var history = await http.GetStringAsync($"{url}/api/records/inspection/P-001/history");
var versions = JsonDocument.Parse(history).RootElement.GetProperty("versions").GetArrayLength();
Console.WriteLine($"2. webhooks answered {string.Join(", ", pushed)}; forged signature {forged}, 6-minute-old timestamp {stale}; inspection P-001 journaled {versions}x");
Check(pushed.All(code => code is >= 200 and < 300), "signed webhooks accepted");
Check(forged == 401 && stale == 401, "forged and stale webhooks refused with 401");
Check(versions == 1, "a replayed webhook-id is not applied again");

// 3. Someone edits the marshal behind Lockstep's back; a full reconciliation finds and repairs it.
marshal.Corrupt("P-005");
marshal.Corrupt("P-009");
marshal.Inspections.TryRemove("P-011", out _);
using (var sync = await http.PostAsync($"{url}/api/sync/{flow}?full=true", null))
    Check(sync.IsSuccessStatusCode, $"POST /api/sync answered {(int)sync.StatusCode}");
await WaitAsync("the repairs delivered", () => Equal(clerk, marshal));
var report = JsonDocument.Parse(await http.GetStringAsync($"{url}/api/status")).RootElement
    .GetProperty("flows").GetProperty(flow).GetProperty("lastReconcile");
Console.WriteLine($"3. reconciliation: {report}");
Check(report.GetProperty("different").GetInt32() == 2 && report.GetProperty("missing").GetInt32() == 1, "drift counted exactly (2 different, 1 missing)");

Console.WriteLine(failures.Count == 0 ? "OK: the marshal equals the clerk, webhooks verified, drift repaired" : "FAILED:\n  " + string.Join("\n  ", failures));
if (keep)
{
    Console.WriteLine("running until Ctrl+C (dashboard at " + url + "/)");
    var stop = new TaskCompletionSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
    await stop.Task;
}
await lockstep.StopAsync();
await clerk.App.DisposeAsync();
await marshal.App.DisposeAsync();
return failures.Count == 0 ? 0 : 1;

void Check(bool ok, string what)
{
    if (!ok) failures.Add(what);
}

string? Option(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

static bool Equal(SampleClerk clerk, SampleMarshal marshal) =>
    clerk.Statuses.All(p => marshal.Inspections.TryGetValue(p.Key, out var body)
        && JsonDocument.Parse(body).RootElement.GetProperty("status").GetString() == p.Value);

static async Task WaitAsync(string what, Func<bool> condition)
{
    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
    while (!condition())
    {
        if (timeout.IsCancellationRequested) throw new TimeoutException($"timed out waiting for {what}");
        await Task.Delay(100);
    }
}

static LockstepConfig FromFile(string clerkUrl, string marshalUrl, string folder)
{
    var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "lockstep.yaml"))
        .Replace("http://127.0.0.1:7001", clerkUrl, StringComparison.Ordinal)
        .Replace("http://127.0.0.1:7002", marshalUrl, StringComparison.Ordinal);
    return new ConfigLoader(LockstepServiceCollectionExtensions.ConnectorFactories).Parse(text, Path.Combine(folder, "lockstep.yaml"));
}

// The same setup in C# (what an ASP.NET Core app would pass to services.AddLockstep(lockstep => ...)).
static LockstepConfig Fluent(string clerkUrl, string marshalUrl, string folder)
{
    var lockstep = new LockstepBuilder().Storage("sqlite:data/lockstep.db").HttpSystem("clerk", clerkUrl).HttpSystem("marshal", marshalUrl);
    lockstep.Source("clerk").Poll("/permits?since={cursor}", every: TimeSpan.FromSeconds(2))
        .Entity("permit", key: "id", version: "updatedAt", cursor: "updatedAt", overlap: TimeSpan.FromSeconds(5))
        .OnChange(change => Console.WriteLine($"   change: {change.Entity} {change.Key} v{change.Version}"));
    lockstep.WebhookSource("marshal-hooks", "${MARSHAL_WEBHOOK_SECRET}", "(body) => ({ entity: \"inspection\", key: body.permitId, version: body.rev, data: body })");
    lockstep.Target("marshal").Put("/inspections/{key}", entity: "permit", map: "(p) => ({ permitId: p.id, address: p.location, status: p.status })")
        .Get("/inspections/{key}").Reconcile("0 2 * * *");
    return lockstep.Build(folder);
}
