using Lockstep.Cli.Demo;
using Lockstep.Records;
using Lockstep.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Deliveries;

/// <summary>The engine end to end with a real SQLite journal and a real HTTP target on 127.0.0.1; time is fake.</summary>
public sealed class DeliveryLoopTests : IAsyncLifetime
{
    private const string Token = "tok-7c1e9b22d4f0a";
    private readonly FakeTimeProvider _time = Clock.Fake();
    private SampleRegistry _registry = null!;
    private readonly Signal _requests = new();

    public async Task InitializeAsync()
    {
        _registry = await SampleRegistry.StartAsync(failureRate: 0);
        _registry.Changed += _requests.Pulse;
    }

    public async Task DisposeAsync() => await _registry.DisposeAsync();

    private string Yaml(string retry = "{ maxAttempts: 5, initialDelay: 1s, maxDelay: 10s }", string extraFlows = "", string circuit = "{ minimumThroughput: 100 }") => $$"""
        storage: sqlite:lockstep.db
        systems:
          registry:
            type: http
            url: {{_registry.Url}}
            auth: { bearer: ${REGISTRY_TOKEN} }
            concurrency: 4
            circuit: {{circuit}}
        flows:
          permits-to-registry:
            on: [permitApproved, permitRevoked]
            to: registry
            map: (p, r) => ({ registryId: p.id, applicantName: `${p.owner.firstName} ${p.owner.lastName}`, rev: p.rev, op: r.op })
            upsert: PUT /api/records/{key}
            delete: DELETE /api/records/{key}
            headers: { X-Record-Version: "{version}" }
            retry: {{retry}}
        {{extraFlows}}
        """;

    private Task<TestEngine> StartAsync(string yaml) =>
        TestEngine.StartAsync(yaml, _time, new Dictionary<string, string> { ["REGISTRY_TOKEN"] = Token });

    private Task WaitForRequestsAsync(int count) =>
        Eventually.WaitAsync(() => _registry.Requests.Count >= count, $"{count} requests at the registry", signal: _requests);

    [Fact]
    public async Task Mapped_record_is_put_with_idempotency_key_version_header_and_bearer_token()
    {
        await using var engine = await StartAsync(Yaml());

        await engine.PublishAsync(TestEngine.Permit("P-1001", 3));
        await WaitForRequestsAsync(1);

        var request = Assert.Single(_registry.Requests);
        Assert.Equal(("PUT", "P-1001", "permits-to-registry:permit:P-1001:3", 3L), (request.Method, request.Key, request.IdempotencyKey, request.Version));
        Assert.Equal($"Bearer {Token}", request.Authorization);
        Assert.Equal("""{"registryId":"P-1001","applicantName":"Ada Lovelace","rev":3,"op":"upsert"}""", request.Body);
        await engine.WaitForStateAsync("synced");
    }

    [Fact]
    public async Task Transient_failure_is_retried_with_the_same_idempotency_key_after_the_backoff()
    {
        await using var engine = await StartAsync(Yaml());
        _registry.Outage = true;

        await engine.PublishAsync(TestEngine.Permit("P-1", 1));
        await WaitForRequestsAsync(1);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["registry"].LastFailureAt is not null, "failure recorded", signal: engine.Committed);
        _registry.Outage = false;
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromMilliseconds(250), () => Task.FromResult(_registry.Requests.Count >= 2), "the retry", _requests);

        var requests = _registry.Requests.ToArray();
        Assert.Equal(503, requests[0].Status);
        Assert.Equal(200, requests[1].Status);
        Assert.Equal(requests[0].IdempotencyKey, requests[1].IdempotencyKey);
        await engine.WaitForStateAsync("synced");
    }

    [Fact]
    public async Task Retry_after_is_honoured()
    {
        await using var engine = await StartAsync(Yaml());
        _registry.RetryAfterSeconds = 30;
        _registry.Override = key => !_registry.Requests.Any(r => r.Key == key) ? 429 : null;

        await engine.PublishAsync(TestEngine.Permit("P-1", 1));
        await WaitForRequestsAsync(1);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["permits-to-registry"].LastFailureAt is not null, "retry scheduled", signal: engine.Committed);
        // A second at a time: a retry due any earlier than the Retry-After would start (and be stamped) before 30 s had passed.
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromSeconds(1), () => Task.FromResult(_registry.Requests.Count >= 2), "the retry", _requests);
        await engine.WaitForStateAsync("synced");

        var attempts = (await engine.Engine.RecordHistoryAsync("permit", "P-1", CancellationToken.None)).Flows["permits-to-registry"];
        Assert.Equal([429, 200], attempts.Select(a => a.StatusCode));
        Assert.True(attempts[1].StartedAt - attempts[0].StartedAt >= TimeSpan.FromSeconds(30),
            $"the retry started {attempts[1].StartedAt - attempts[0].StartedAt} after the 429 that asked for 30 s");
    }

    [Fact]
    public async Task Permanent_failure_goes_to_dead_letters_at_once_and_replay_delivers_it()
    {
        await using var engine = await StartAsync(Yaml());
        var reject = true;
        _registry.Override = _ => reject ? 422 : null;

        await engine.PublishAsync(TestEngine.Permit("P-1", 1));
        await engine.WaitForStateAsync("failing");
        var dead = Assert.Single(await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None));
        reject = false;
        var replayed = await engine.Engine.ReplayAsync(null, null, CancellationToken.None);
        await engine.WaitForStateAsync("synced");

        Assert.Equal((422, 1), (dead.StatusCode, dead.Attempts));
        Assert.StartsWith("HTTP 422", dead.Error);
        Assert.Equal(1, replayed);
        Assert.Equal([422, 200], _registry.Requests.Select(r => r.Status));
    }

    [Fact]
    public async Task Mapping_error_is_a_dead_letter_with_the_javascript_message()
    {
        await using var engine = await StartAsync(Yaml().Replace("applicantName: `${p.owner.firstName} ${p.owner.lastName}`", "applicantName: p.applicant.name"));

        await engine.PublishAsync(TestEngine.Permit("P-1", 1));
        await engine.WaitForStateAsync("failing");

        var dead = Assert.Single(await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None));
        Assert.Contains("JavaScript error", dead.Error);
        Assert.Contains("name", dead.Error);
        Assert.Empty(_registry.Requests);
    }

    [Fact]
    public async Task Endless_loop_in_a_mapping_hits_the_time_limit_and_never_crashes_the_engine()
    {
        var yaml = Yaml().Replace("map: (p, r) => ({ registryId", "map: (p, r) => ({ loop: (() => { while (p) {} })(), registryId") + "\nmapping: { timeout: 50ms }\n";
        await using var engine = await StartAsync(yaml);

        await engine.PublishAsync(TestEngine.Permit("P-1", 1));
        await engine.WaitForStateAsync("failing");

        var dead = Assert.Single(await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None));
        Assert.Contains("time limit", dead.Error);
    }

    [Fact]
    public async Task Exhausted_attempts_go_to_dead_letters()
    {
        await using var engine = await StartAsync(Yaml(retry: "{ maxAttempts: 2, initialDelay: 1s, maxDelay: 1s }"));
        _registry.Outage = true;

        await engine.PublishAsync(TestEngine.Permit("P-1", 1));
        await WaitForRequestsAsync(1);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["registry"].LastFailureAt is not null, "failure recorded", signal: engine.Committed);
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromMilliseconds(250),
            async () => (await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None)).Count == 1, "dead letter", engine.Committed);

        var dead = Assert.Single(await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None));
        Assert.Equal(2, dead.Attempts);
        Assert.Contains("gave up after 2 attempts", dead.Error);
        Assert.Equal(2, _registry.Requests.Count);
    }

    [Fact]
    public async Task Delete_sends_delete_and_removes_the_record()
    {
        await using var engine = await StartAsync(Yaml());

        await engine.PublishAsync(TestEngine.Permit("P-1", 1));
        await WaitForRequestsAsync(1);
        await engine.PublishAsync(TestEngine.Permit("P-1", 2, type: "permitRevoked", op: RecordOp.Delete));
        await WaitForRequestsAsync(2);
        await engine.WaitForStateAsync("synced");

        Assert.Equal(["PUT", "DELETE"], _registry.Requests.Select(r => r.Method));
        Assert.Empty(_registry.Records);
    }

    [Fact]
    public async Task Circuit_opens_pauses_the_system_and_closes_after_a_successful_probe()
    {
        await using var engine = await StartAsync(Yaml(circuit: "{ minimumThroughput: 4, failureRatio: 0.5, breakDuration: 10s, samplingDuration: 30s }", retry: "{ maxAttempts: 100, initialDelay: 1s, maxDelay: 1s }"));
        _registry.Outage = true;
        var keys = Enumerable.Range(1, 20).Select(i => $"P-{i}").ToList();

        await engine.PublishAsync([.. keys.Select(k => TestEngine.Permit(k, 1))]);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["registry"].Circuit == "open", "circuit open", signal: engine.Committed);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["registry"].InFlight == 0, "nothing in flight", signal: engine.Committed);
        var whileOpen = _registry.Requests.Count;
        var openedAt = _time.GetUtcNow();
        // A second at a time: retries (due a second after each failure) that ignored the open circuit would start, and be
        // stamped, inside the break.
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromSeconds(1), () => Task.FromResult(_time.GetUtcNow() - openedAt >= TimeSpan.FromSeconds(5)), "5 s into the break", engine.Committed);
        _registry.Outage = false;
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromMilliseconds(500), async () => (await engine.StatusAsync()).State == "synced", "synced", engine.Committed);

        var attempts = new List<Lockstep.Journal.AttemptView>();
        foreach (var key in keys) attempts.AddRange((await engine.Engine.RecordHistoryAsync("permit", key, CancellationToken.None)).Flows["permits-to-registry"].Where(a => a.Outcome != "deferred"));
        Assert.True(whileOpen < 20, $"{whileOpen} requests were made although the circuit should have paused the system");
        Assert.DoesNotContain(attempts, a => a.StartedAt > openedAt && a.StartedAt < openedAt.AddSeconds(10));
        Assert.Equal(20, _registry.Records.Count);
        Assert.Equal(0, (await engine.StatusAsync()).Systems["registry"].Dead);
    }

    [Fact]
    public async Task Sync_completed_event_is_routed_once_every_flow_delivered()
    {
        var extra = """
              completions:
                on: [syncCompleted]
                to: registry
                upsert: PUT /api/records/done-{key}
            """;
        await using var engine = await StartAsync(Yaml(extraFlows: extra));

        await engine.PublishAsync(TestEngine.Permit("P-9", 1));
        await WaitForRequestsAsync(2);
        await engine.WaitForStateAsync("synced");

        var done = _registry.Requests.Single(r => r.Key.StartsWith("done-", StringComparison.Ordinal));
        Assert.Equal("done-permit:P-9", done.Key);
        Assert.Contains("\"eventId\":\"permit:P-9:1\"", done.Body);
        Assert.Equal(2, _registry.Requests.Count);
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("delivery: { completionEvents: true }", true)]
    public async Task Completion_events_are_made_only_when_a_flow_takes_them_or_the_config_asks(string delivery, bool expected)
    {
        await using var engine = await StartAsync(delivery + "\n" + Yaml());

        await engine.PublishAsync(TestEngine.Permit("P-9", 1));
        await engine.WaitForStateAsync("synced");

        Assert.Equal(expected, await engine.Engine.GetEventAsync("syncCompleted:permit:P-9:1", CancellationToken.None) is not null);
    }

    [Fact]
    public async Task Filter_skips_records_without_sending()
    {
        await using var engine = await StartAsync(Yaml().Replace("    to: registry\n    map:", "    to: registry\n    filter: (p) => p.status === 'approved'\n    map:"));

        await engine.PublishAsync(TestEngine.Permit("P-1", 1, status: "draft"), TestEngine.Permit("P-2", 1));
        await WaitForRequestsAsync(1);
        await engine.WaitForStateAsync("synced");

        Assert.Equal("P-2", Assert.Single(_registry.Requests).Key);
    }

    [Fact]
    public async Task Secrets_never_reach_logs_status_dead_letters_or_the_journal()
    {
        await using var engine = await StartAsync(Yaml(retry: "{ maxAttempts: 1, initialDelay: 1s, maxDelay: 1s }"));
        _registry.Override = _ => 401;

        await engine.PublishAsync(TestEngine.Permit("P-1", 1));
        await engine.WaitForStateAsync("failing");
        var status = System.Text.Json.JsonSerializer.Serialize(await engine.StatusAsync());
        var dead = System.Text.Json.JsonSerializer.Serialize(await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None));
        await engine.Engine.StopAsync(CancellationToken.None);
        var journal = await File.ReadAllBytesAsync(TestEngine.JournalPath(engine.Config));

        Assert.DoesNotContain(Token, status);
        Assert.DoesNotContain(Token, dead);
        Assert.DoesNotContain(engine.Logs.Lines, line => line.Contains(Token, StringComparison.Ordinal));
        Assert.Equal(-1, System.Text.Encoding.UTF8.GetString(journal).IndexOf(Token, StringComparison.Ordinal));
        Assert.Equal($"Bearer {Token}", _registry.Requests.Single().Authorization);
    }
}
