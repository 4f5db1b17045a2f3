using Lockstep.Cli.Demo;
using Lockstep.Deliveries;
using Lockstep.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Deliveries;

/// <summary>
/// A degraded target is served, a target asking to slow down gets fewer requests at once, a target that is down gets the
/// circuit: the adaptive concurrency limit on its own, then the engine against a real HTTP target on 127.0.0.1.
/// </summary>
public sealed class AdaptiveConcurrencyTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = Clock.Fake();
    private SampleRegistry _registry = null!;
    private readonly Signal _requests = new();

    public async Task InitializeAsync()
    {
        _registry = await SampleRegistry.StartAsync(failureRate: 0);
        _registry.Changed += _requests.Pulse;
    }

    public async Task DisposeAsync() => await _registry.DisposeAsync();

    private string Yaml(int concurrency, string circuit = "{}") => $$"""
        storage: sqlite:lockstep.db
        systems:
          registry: { type: http, url: {{_registry.Url}}, concurrency: {{concurrency}}, circuit: {{circuit}} }
        flows:
          permits-to-registry:
            on: [permitApproved]
            to: registry
            upsert: PUT /api/records/{key}
            headers: { X-Record-Version: "{version}" }
            retry: { maxAttempts: 1000, initialDelay: 1s, maxDelay: 1s, maxRetryAfter: 1s }
        """;

    [Fact]
    public void Overload_lowers_the_limit_once_per_window_to_no_less_than_one_and_successes_raise_it_back()
    {
        using var limit = new ConcurrencyLimit(16, _time);

        limit.Overloaded();
        limit.Overloaded(); // the same burst: one signal
        Assert.Equal(12, limit.Current);
        var seen = new List<int>();
        for (var i = 0; i < 20; i++)
        {
            _time.Advance(ConcurrencyLimit.Window);
            limit.Overloaded();
            seen.Add(limit.Current);
        }
        Assert.Equal([9, 7, 6, 5, 4, 3, 2, 1, 1], seen.Take(9));
        Assert.Equal(1, limit.Current);

        for (var i = 0; i < 1 + 2 + 3; i++) limit.Succeeded();
        Assert.Equal(4, limit.Current);
    }

    [Fact]
    public async Task A_lowered_limit_holds_back_slots_as_requests_finish_and_gives_them_back_as_it_rises()
    {
        using var limit = new ConcurrencyLimit(4, _time);
        for (var i = 0; i < 4; i++) await limit.WaitAsync(CancellationToken.None);

        limit.Overloaded(); // 4 → 3 while all four are in flight
        for (var i = 0; i < 4; i++) limit.Release();
        Assert.Equal(3, Free(limit));
        for (var i = 0; i < 3; i++) limit.Release();

        for (var i = 0; i < 3; i++) limit.Succeeded();
        Assert.Equal(4, limit.Current);
        Assert.Equal(4, Free(limit));
    }

    [Fact]
    public async Task Answers_429_with_Retry_After_lower_the_systems_concurrency_and_status_shows_it()
    {
        // The circuit kept out of it (it would open for a target answering only 429s): this is about the limit.
        await using var engine = await TestEngine.StartAsync(Yaml(concurrency: 8, circuit: "{ minimumThroughput: 100000 }"), _time);
        _registry.Override = _ => 429;

        await engine.PublishAsync([.. Enumerable.Range(1, 40).Select(i => TestEngine.Permit($"P-{i}", 1))]);
        await Eventually.WaitAsync(() => _registry.Requests.Count >= 8, "the first requests", signal: _requests);
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromMilliseconds(500),
            async () => (await engine.StatusAsync()).Systems["registry"].ConcurrencyLimit <= 2, "the limit lowered to 2 or less", engine.Committed);
        var lowered = (await engine.StatusAsync()).Systems["registry"].ConcurrencyLimit;

        _registry.Override = null;
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromMilliseconds(500), async () => (await engine.StatusAsync()).State == "synced", "synced", engine.Committed);

        Assert.Equal(40, _registry.Records.Count);
        Assert.True((await engine.StatusAsync()).Systems["registry"].ConcurrencyLimit > lowered, "successes raise the limit again");
    }

    [Fact]
    public async Task A_target_failing_half_its_requests_keeps_being_served_with_the_circuit_closed()
    {
        await using var engine = await TestEngine.StartAsync(Yaml(concurrency: 8), _time);
        var random = new Random(11);
        _registry.Override = _ => random.NextDouble() < 0.5 ? 503 : null;   // called under the registry's lock

        await engine.PublishAsync([.. Enumerable.Range(1, 200).Select(i => TestEngine.Permit($"P-{i}", 1))]);
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromMilliseconds(500), async () => (await engine.StatusAsync()).State == "synced", "synced", engine.Committed);

        Assert.Equal(200, _registry.Records.Count);
        Assert.True(_registry.Requests.Count(r => r.Status == 503) > 100, "half the requests failed");
        // No attempt was turned back by an open circuit, and plain 503s are no overload signal.
        Assert.DoesNotContain(engine.Logs.Lines, m => m.Contains("Circuit for registry opened", StringComparison.Ordinal));
        Assert.Equal(8, (await engine.StatusAsync()).Systems["registry"].ConcurrencyLimit);
    }

    [Fact]
    public async Task A_target_that_is_down_opens_the_circuit_with_the_default_settings_and_status_says_when_it_probes()
    {
        await using var engine = await TestEngine.StartAsync(Yaml(concurrency: 4), _time);
        _registry.Outage = true;

        // The circuit counts first failures of different records (a record's own retries are not the system's): 80 > 50.
        await engine.PublishAsync([.. Enumerable.Range(1, 80).Select(i => TestEngine.Permit($"P-{i}", 1))]);
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromMilliseconds(250), async () => (await engine.StatusAsync()).Systems["registry"].Circuit == "open", "circuit open", engine.Committed);

        var system = (await engine.StatusAsync()).Systems["registry"];
        Assert.NotNull(system.NextProbeAt);
        Assert.True(system.NextProbeAt > _time.GetUtcNow());
    }

    /// <summary>Takes every free slot (without waiting) and says how many there were.</summary>
    private static int Free(ConcurrencyLimit limit)
    {
        var free = 0;
        while (limit.TryEnter()) free++;
        return free;
    }
}
