using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Lockstep.Gauntlet.Checking;
using Lockstep.Gauntlet.Reporting;
using Lockstep.Gauntlet.Schedules;
using Lockstep.Gauntlet.Targets;

namespace Lockstep.Gauntlet.Running;

/// <summary>
/// Runs one schedule: two real targets behind fault proxies, the real lockstep process on a fresh SQLite journal,
/// the steps in order (faults last for their window while publishing goes on), then every check once faults stop.
/// </summary>
internal sealed class ScheduleRun : IAsyncDisposable
{
    /// <summary>Per attempt at the targets; "slow" answers come later than this.</summary>
    public static readonly TimeSpan SystemTimeout = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PublishLimit = TimeSpan.FromSeconds(30);

    /// <summary>The webhook source's Standard Webhooks secret (a throwaway, given to lockstep through the environment).</summary>
    private static readonly string WebhookSecret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private readonly Schedule _schedule;
    private readonly TimeSpan _convergeLimit;
    private readonly string _folder;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly List<Task> _windows = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly TargetServer[] _targets = new TargetServer[2];
    private readonly FaultProxy[] _proxies = new FaultProxy[2];
    private LockstepProcess? _lockstep;
    private bool _disposed;

    public ScheduleRun(Schedule schedule, TimeSpan convergeLimit)
    {
        _schedule = schedule;
        _convergeLimit = convergeLimit;
        _folder = Directory.CreateTempSubdirectory($"lockstep-gauntlet-{schedule.Seed}-").FullName;
    }

    public FaultCounts Faults { get; } = new();

    /// <summary>Events answered 202, by index (every event of a publish the intake acknowledged).</summary>
    public HashSet<int> Acknowledged { get; } = [];

    /// <summary>Publishes whose first answer counted duplicates or stale events differently from the model.</summary>
    public List<string> IntakeMismatches { get; } = [];

    public IReadOnlyList<TargetServer> TargetServers => _targets;

    public LockstepProcess Lockstep => _lockstep ?? throw new InvalidOperationException("not started");

    public HttpClient Http => _http;

    public int Starts => _lockstep?.Starts ?? 0;

    public string Folder => _folder;

    public async Task ExecuteAsync(Model model)
    {
        for (var t = 0; t < 2; t++)
        {
            _targets[t] = await TargetServer.StartAsync(t, rejectPoison: t == 0, slow: SystemTimeout + TimeSpan.FromMilliseconds(400), seed: (_schedule.Seed * 7) + t);
            _proxies[t] = FaultProxy.Start(_targets[t].Url, (_schedule.Seed * 13) + t);
        }
        var configPath = Path.Combine(_folder, "lockstep.yaml");
        await File.WriteAllTextAsync(configPath, Config(_proxies[0].Url, _proxies[1].Url));
        _lockstep = new LockstepProcess(configPath, new Dictionary<string, string> { ["GAUNTLET_WEBHOOK_SECRET"] = WebhookSecret });
        await _lockstep.StartAsync(StartLimit);

        foreach (var step in _schedule.Steps)
        {
            switch (step)
            {
                case PublishStep publish:
                    await PublishAsync(publish, model);
                    break;
                case QuietStep quiet:
                    await Task.Delay(TimeSpan.FromMilliseconds(quiet.Milliseconds), TimeProvider.System);
                    break;
                case ProxyFaultStep fault:
                    Faults.Add("window-proxy-" + Kebab(fault.Fault));
                    var proxy = _proxies[fault.Target];
                    var proxyGeneration = proxy.SetFault(fault.Fault, fault.Rate);
                    Window(fault.Milliseconds, () => proxy.ClearFault(proxyGeneration));
                    break;
                case TargetFaultStep fault:
                    Faults.Add("window-target-" + Kebab(fault.Fault));
                    var target = _targets[fault.Target];
                    var targetGeneration = target.SetFault(fault.Fault, fault.Rate);
                    Window(fault.Milliseconds, () => target.ClearFault(targetGeneration));
                    break;
                case KillStep kill:
                    Faults.Add("sigkill");
                    await _lockstep.KillAsync();
                    await Task.Delay(TimeSpan.FromMilliseconds(kill.DownMilliseconds), TimeProvider.System);
                    await _lockstep.StartAsync(StartLimit);
                    break;
                case StopStep stop:
                    Faults.Add("sigstop");
                    await _lockstep.StopAsync();
                    try
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(stop.Milliseconds), TimeProvider.System);
                    }
                    finally
                    {
                        await _lockstep.ContinueAsync();
                    }
                    break;
                default:
                    throw new GauntletException($"unknown step {step}");
            }
        }
        // Windows still open run to their end (each at most a few seconds), so late faults meet the last deliveries.
        await Task.WhenAll(_windows);
        await StopFaultsAsync();
    }

    /// <summary>Ends every fault window now; from here on the targets and the network behave.</summary>
    public async Task StopFaultsAsync()
    {
        await _stopping.CancelAsync();
        await Task.WhenAll(_windows);
        foreach (var proxy in _proxies) proxy?.ClearFault();
        foreach (var target in _targets) target?.ClearFault();
        foreach (var proxy in _proxies) if (proxy is not null) Faults.AddAll(proxy.Injected);
        foreach (var target in _targets) if (target is not null) Faults.AddAll(target.Injected);
    }

    private void Window(int milliseconds, Action clear)
    {
        _windows.Add(Later());

        async Task Later()
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(milliseconds), TimeProvider.System, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                // Faults stop at the end of the schedule in any case.
            }
            clear();
        }
    }

    private async Task PublishAsync(PublishStep step, Model model)
    {
        if (_schedule.Events[step.Events[0]].Webhook)
        {
            await PushAsync(_schedule.Events[step.Events[0]], model);
            return;
        }
        var events = step.Events.Select(i => _schedule.Events[i]).ToList();
        var body = step.AsArray ? "[" + string.Join(',', events.Select(e => e.Json())) + "]" : events[0].Json();
        var clock = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var content = new StringContent(body, Encoding.UTF8, "application/json");
                using var response = await _http.PostAsync($"{Lockstep.Url}/api/events", content);
                var text = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.Accepted)
                    throw new DivergenceException("intake", null, $"publish of {step.Describe(_schedule.Events)} answered {(int)response.StatusCode}: {text}");
                foreach (var i in step.Events) Acknowledged.Add(i);
                if (attempt == 1) CheckCounts(step, events, model, text);
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && clock.Elapsed < PublishLimit)
            {
                // Unknown outcome (cut off): sent again; its ids make a committed first try count as duplicates.
                await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
            }
        }
    }

    /// <summary>A Standard Webhooks push (signed, webhook-id = the event's id): 202 new, 200 a replay.</summary>
    private async Task PushAsync(EventSpec e, Model model)
    {
        var body = e.WebhookBody();
        var clock = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
                var key = Convert.FromBase64String(WebhookSecret["whsec_".Length..]);
                var signature = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{e.Id}.{timestamp}.{body}")));
                using var request = new HttpRequestMessage(HttpMethod.Post, $"{Lockstep.Url}/webhooks/{EventSpec.WebhookSource}")
                {
                    Content = new StringContent(body, Encoding.UTF8, "application/json"),
                };
                request.Headers.Add("webhook-id", e.Id);
                request.Headers.Add("webhook-timestamp", timestamp);
                request.Headers.Add("webhook-signature", "v1," + signature);
                using var response = await _http.SendAsync(request);
                var text = await response.Content.ReadAsStringAsync();
                if (response.StatusCode is not (HttpStatusCode.Accepted or HttpStatusCode.OK))
                    throw new DivergenceException("intake", e.Key, $"push of {e.Describe()} answered {(int)response.StatusCode}: {text}");
                Acknowledged.Add(e.Index);
                var duplicate = response.StatusCode == HttpStatusCode.OK;
                if (attempt == 1 && duplicate != (model.IntakeOf(e) == IntakeResult.Duplicate))
                    IntakeMismatches.Add($"push {e.Describe()}: answered {(int)response.StatusCode} {text}; expected {model.IntakeOf(e)}");
                return;
            }
            catch (Exception x) when (x is HttpRequestException or TaskCanceledException && clock.Elapsed < PublishLimit)
            {
                // Unknown outcome: pushed again with the same webhook-id, as a sender retries.
                await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
            }
        }
    }

    private void CheckCounts(PublishStep step, List<EventSpec> events, Model model, string answer)
    {
        using var document = JsonDocument.Parse(answer);
        var root = document.RootElement;
        var accepted = root.GetProperty("accepted").GetInt32();
        var duplicates = root.GetProperty("duplicates").GetInt32();
        var stale = root.GetProperty("stale").GetInt32();
        var expectDuplicates = events.Count(e => model.IntakeOf(e) == IntakeResult.Duplicate);
        var expectStale = events.Count(e => model.IntakeOf(e) == IntakeResult.Stale);
        var expectAccepted = events.Count - expectDuplicates; // the API counts stale events as accepted too
        if ((accepted, duplicates, stale) != (expectAccepted, expectDuplicates, expectStale))
        {
            IntakeMismatches.Add(string.Create(CultureInfo.InvariantCulture,
                $"{step.Describe(_schedule.Events)}: answered accepted {accepted}, duplicates {duplicates}, stale {stale}; expected {expectAccepted}, {expectDuplicates}, {expectStale}"));
        }
    }

    private static string Kebab(Enum value) =>
        string.Concat(value.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    private static string Config(string alpha, string beta) => $$"""
        storage: sqlite:data/lockstep.db
        delivery: { batchSize: 64, completionEvents: true }   # the checker reads them from the journal
        systems:
          alpha:
            type: http
            url: {{alpha}}
            concurrency: 4
            timeout: {{(int)SystemTimeout.TotalMilliseconds}}ms
            circuit: { failureRatio: 0.5, minimumThroughput: 10, samplingDuration: 2s, breakDuration: 500ms, maxBreakDuration: 2s }
          beta:
            type: http
            url: {{beta}}
            concurrency: 4
            timeout: {{(int)SystemTimeout.TotalMilliseconds}}ms
            circuit: { failureRatio: 0.5, minimumThroughput: 10, samplingDuration: 2s, breakDuration: 500ms, maxBreakDuration: 2s }
        sources:
          {{EventSpec.WebhookSource}}:
            type: webhook
            verify: { standardWebhooks: "${GAUNTLET_WEBHOOK_SECRET}" }
            map: (b) => ({ entity: "{{Schedule.Entity}}", key: b.key, version: b.version, op: b.op, data: b.data })
        flows:
          {{TargetNames.Flow(0)}}:
            entity: {{Schedule.Entity}}
            to: alpha
            upsert: PUT /records/{key}
            delete: DELETE /records/{key}
            headers: { X-Record-Version: "{version}" }
            retry: { maxAttempts: 100000, initialDelay: 20ms, maxDelay: 500ms, maxRetryAfter: 2s }
          {{TargetNames.Flow(1)}}:
            entity: {{Schedule.Entity}}
            to: beta
            map: (d, r) => ({ ...d, _key: r.key, _version: r.version })
            batch: POST /batch
            batchSize: 20
            linger: 20ms
            delete: DELETE /records/{key}
            headers: { X-Record-Version: "{version}" }
            retry: { maxAttempts: 100000, initialDelay: 20ms, maxDelay: 500ms, maxRetryAfter: 2s }

        """;

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_stopping.IsCancellationRequested) await StopFaultsAsync();
        if (_lockstep is not null) await _lockstep.DisposeAsync();
        foreach (var proxy in _proxies) if (proxy is not null) await proxy.DisposeAsync();
        foreach (var target in _targets) if (target is not null) await target.DisposeAsync();
        _http.Dispose();
        _stopping.Dispose();
    }

    /// <summary>The journal and config stay for a failed run; a passed one leaves nothing behind.</summary>
    public void DeleteFolder()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder.
        }
    }
}

/// <summary>A check failed: what kind, which record (if one), and what was seen.</summary>
internal sealed class DivergenceException(string kind, string? key, string message) : Exception(message)
{
    public string Kind { get; } = kind;

    public string? Key { get; } = key;
}
