using System.Collections.Concurrent;
using Lockstep.Cli.Demo;
using Lockstep.Control;
using Lockstep.Deliveries;
using Lockstep.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Control;

/// <summary>Pause, resume, retry now and circuit reset on a real engine: real SQLite journal, two real HTTP targets, fake time.</summary>
public sealed class PauseTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = Clock.Fake();
    private readonly TempFolder _folder = new();
    private readonly Signal _requests = new();
    private SampleRegistry _registry = null!;
    private SampleRegistry _archive = null!;

    public async Task InitializeAsync()
    {
        _registry = await SampleRegistry.StartAsync(failureRate: 0);
        _archive = await SampleRegistry.StartAsync(failureRate: 0);
        _registry.Changed += _requests.Pulse;
        _archive.Changed += _requests.Pulse;
    }

    public async Task DisposeAsync()
    {
        await _registry.DisposeAsync();
        await _archive.DisposeAsync();
        _folder.Dispose();
    }

    private string Yaml => $$"""
        storage: sqlite:lockstep.db
        systems:
          registry: { type: http, url: "{{_registry.Url}}", circuit: { minimumThroughput: 2, failureRatio: 0.5, breakDuration: 2m, samplingDuration: 30s } }
          archive: { type: http, url: "{{_archive.Url}}" }
        flows:
          to-registry: { on: [permitApproved], to: registry, upsert: "PUT /api/records/{key}", retry: { maxAttempts: 50, initialDelay: 5m, maxDelay: 5m } }
          to-archive: { on: [permitApproved], to: archive, upsert: "PUT /api/records/{key}" }
        """;

    private Task<TestEngine> StartAsync() => TestEngine.StartAsync(Yaml, _time, folder: _folder);

    /// <summary>Every committed outcome, so a test can wait for the one it expects.</summary>
    private static ConcurrentQueue<DeliveryCompletion> Outcomes(TestEngine engine)
    {
        var outcomes = new ConcurrentQueue<DeliveryCompletion>();
        engine.Engine.Delivered += batch =>
        {
            foreach (var c in batch) outcomes.Enqueue(c);
        };
        return outcomes;
    }

    [Fact]
    public async Task A_paused_flow_keeps_its_deliveries_pending_shown_as_paused_until_resumed()
    {
        await using var engine = await StartAsync();
        var outcomes = Outcomes(engine);

        var paused = await engine.Engine.PauseAsync(PauseKind.Flow, "to-registry", "ops", "partner maintenance", CancellationToken.None);
        await engine.PublishAsync(TestEngine.Permit("P-1", 1));
        await Eventually.WaitAsync(() => outcomes.Any(c => c.Kind == CompletionKind.Deferred && c.Delivery.Flow == "to-registry"), "the paused delivery put back", signal: engine.Committed);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["to-archive"].Delivered == 1, "the other flow delivered", signal: engine.Committed);
        var whilePaused = await engine.StatusAsync();
        var requestsWhilePaused = _registry.Requests.Count;
        var resumed = await engine.Engine.ResumeAsync(PauseKind.Flow, "to-registry", "ops", CancellationToken.None);
        await Eventually.WaitAsync(() => _registry.Records.ContainsKey("P-1"), "delivered after resume", signal: _requests);
        var audit = await engine.Engine.AuditLogAsync(10, CancellationToken.None);

        Assert.True(paused!.Changed);
        Assert.Equal(0, requestsWhilePaused);
        var flow = whilePaused.Flows["to-registry"];
        Assert.Equal(("paused", 1L, "ops", "partner maintenance"), (flow.State, flow.Pending, flow.Paused?.By, flow.Paused?.Reason));
        Assert.Null(flow.LastError);
        Assert.Equal(("paused", "paused"), (whilePaused.Systems["registry"].State, whilePaused.State));
        Assert.Contains("1 waiting deliveries made due now", resumed!.Outcome);
        Assert.Contains(audit, a => a.Action == "pause" && a.Target == "flow to-registry" && a.Actor == "ops");
        Assert.Contains(audit, a => a.Action == "resume" && a.Target == "flow to-registry");
        await engine.WaitForStateAsync("synced");
    }

    [Fact]
    public async Task A_system_pause_survives_a_restart_and_nothing_is_sent_until_it_is_resumed()
    {
        await using (var first = await StartAsync())
            await first.Engine.PauseAsync(PauseKind.System, "registry", "ops", null, CancellationToken.None);

        await using var engine = await StartAsync();
        await engine.PublishAsync(TestEngine.Permit("P-1", 1));
        // Both deliveries were due in the same pass; the archive's arriving means the registry's was passed over.
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["to-archive"].Delivered == 1, "the other system delivered", signal: engine.Committed);
        var whilePaused = await engine.StatusAsync();
        var requestsWhilePaused = _registry.Requests.Count;
        await engine.Engine.ResumeAsync(PauseKind.System, "registry", "ops", CancellationToken.None);
        await Eventually.WaitAsync(() => _registry.Records.ContainsKey("P-1"), "delivered after resume", signal: _requests);

        Assert.Equal(0, requestsWhilePaused);
        Assert.Equal(("paused", 1L), (whilePaused.Systems["registry"].State, whilePaused.Systems["registry"].Pending));
        Assert.Equal("paused", whilePaused.Flows["to-registry"].State);
        Assert.Equal("synced", whilePaused.Systems["archive"].State);
        Assert.Equal(PauseKind.System, Assert.Single(whilePaused.Pauses!).Kind);
        Assert.Empty(engine.Engine.Pauses);
    }

    [Fact]
    public async Task Unknown_names_are_refused_and_a_second_pause_changes_nothing()
    {
        await using var engine = await StartAsync();

        var unknown = await engine.Engine.PauseAsync(PauseKind.Flow, "no-such-flow", "ops", null, CancellationToken.None);
        var notPaused = await engine.Engine.ResumeAsync(PauseKind.System, "registry", "ops", CancellationToken.None);
        var twice = await engine.Engine.PauseAsync(PauseKind.System, "archive", "ops", null, CancellationToken.None);
        var again = await engine.Engine.PauseAsync(PauseKind.System, "archive", "someone", null, CancellationToken.None);

        Assert.Null(unknown);
        Assert.Equal((false, "system registry was not paused"), (notPaused!.Changed, notPaused.Outcome));
        Assert.True(twice!.Changed);
        Assert.False(again!.Changed);
        Assert.StartsWith("system archive was already paused by ops", again.Outcome);
    }

    [Fact]
    public async Task Retry_now_says_how_many_it_made_due_and_how_many_wait_behind_the_open_circuit_until_it_is_reset()
    {
        await using var engine = await StartAsync();
        _registry.Outage = true;

        await engine.PublishAsync(TestEngine.Permit("P-1", 1), TestEngine.Permit("P-2", 1), TestEngine.Permit("P-3", 1));
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["registry"].Circuit == "open", "circuit open", signal: engine.Committed);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["to-registry"].InFlight == 0, "attempts settled", signal: engine.Committed);
        var retried = await engine.Engine.SyncAsync("to-registry", full: false, CancellationToken.None);
        _registry.Outage = false;
        var reset = await engine.Engine.ResetCircuitAsync("registry", "ops", CancellationToken.None);
        await Eventually.WaitAsync(() => _registry.Records.Count == 3, "delivered after the reset", signal: _requests);

        Assert.Equal(3L, retried!.Pending);
        Assert.Equal(3L, retried.BehindOpenCircuit);
        Assert.True(retried.MadeDue >= 2, retried.Outcome);
        Assert.Contains("3 wait behind the open circuit of registry", retried.Outcome);
        Assert.Contains("circuit of registry closed (was open)", reset!.Outcome);
        await engine.WaitForStateAsync("synced");
    }

    [Fact]
    public async Task Retry_now_on_a_system_makes_every_flow_s_waiting_retries_due()
    {
        await using var engine = await StartAsync();
        _archive.Outage = true;

        await engine.PublishAsync(TestEngine.Permit("P-1", 1));
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["to-archive"].LastFailureAt is not null, "a retry waiting", signal: engine.Committed);
        _archive.Outage = false;
        var retried = await engine.Engine.SyncAsync("archive", full: false, CancellationToken.None);
        await Eventually.WaitAsync(() => _archive.Records.ContainsKey("P-1"), "delivered at once", signal: _requests);

        Assert.Equal(("system", 1), (retried!.Kind, retried.MadeDue));
        Assert.Equal(0L, retried.BehindOpenCircuit);
    }
}
