using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Lockstep.Cli.Demo;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Deliveries;

/// <summary>
/// Record keys of any text reach http and webhook targets percent-encoded; a record whose request cannot be built is
/// its own dead letter; and one record that keeps failing never holds back the records after it.
/// </summary>
public sealed class RecordKeyTests
{
    private readonly FakeTimeProvider _time = Clock.Fake();

    [Fact]
    public async Task Non_ascii_keys_reach_an_http_target_encoded_in_the_path_the_idempotency_key_and_templated_headers()
    {
        var seen = new ConcurrentQueue<(string RawTarget, string Key, string IdempotencyKey, string Record)>();
        var arrived = new Signal();
        await using var target = await PartnerServer.StartAsync(app => app.MapPut("/api/records/{key}", (string key, HttpContext context) =>
        {
            seen.Enqueue((context.Features.Get<IHttpRequestFeature>()!.RawTarget, key,
                context.Request.Headers["Idempotency-Key"].ToString(), context.Request.Headers["X-Record"].ToString()));
            arrived.Pulse();
            return Results.Ok();
        }));
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              registry: { type: http, url: "{{target.Url}}" }
            flows:
              permits-to-registry:
                on: [permitApproved]
                to: registry
                upsert: PUT /api/records/{key}
                headers: { X-Record: "{entity}/{key}" }
                retry: { maxAttempts: 5, initialDelay: 1s, maxDelay: 1s }
            """;
        await using var engine = await TestEngine.StartAsync(yaml, _time);

        await engine.PublishAsync(TestEngine.Permit("Müller-1", 1), TestEngine.Permit("Zoë-1", 1));
        await Eventually.WaitAsync(() => seen.Count >= 2, "both records at the target", signal: arrived);
        await engine.WaitForStateAsync("synced");

        var byKey = seen.ToDictionary(s => s.Key);
        Assert.Equal(("/api/records/M%C3%BCller-1", "permits-to-registry:permit:M%C3%BCller-1:1", "permit/M%C3%BCller-1"),
            (byKey["Müller-1"].RawTarget, byKey["Müller-1"].IdempotencyKey, byKey["Müller-1"].Record));
        Assert.Equal(("/api/records/Zo%C3%AB-1", "permits-to-registry:permit:Zo%C3%AB-1:1"), (byKey["Zoë-1"].RawTarget, byKey["Zoë-1"].IdempotencyKey));
        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public async Task Non_ascii_keys_reach_a_webhook_subscriber_with_an_encoded_webhook_id_that_the_signature_covers()
    {
        var secret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        var seen = new ConcurrentQueue<(string Id, string Timestamp, string Signature, string Body)>();
        var arrived = new Signal();
        await using var subscriber = await PartnerServer.StartAsync(app => app.MapPost("/hooks", async (HttpContext context) =>
        {
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            seen.Enqueue((context.Request.Headers["webhook-id"].ToString(), context.Request.Headers["webhook-timestamp"].ToString(),
                context.Request.Headers["webhook-signature"].ToString(), body));
            arrived.Pulse();
            return Results.NoContent();
        }));
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              partner: { type: webhook, url: "{{subscriber.Url}}/hooks", secrets: ["${SECRET}"] }
            flows:
              permits-to-partner:
                on: [permitApproved]
                to: partner
                map: (p) => ({ id: p.id })
                retry: { maxAttempts: 5, initialDelay: 1s, maxDelay: 1s }
            """;
        await using var engine = await TestEngine.StartAsync(yaml, _time, new Dictionary<string, string> { ["SECRET"] = secret });

        await engine.PublishAsync(TestEngine.Permit("Zoë-1", 1));
        await Eventually.WaitAsync(() => !seen.IsEmpty, "the webhook", signal: arrived);
        await engine.WaitForStateAsync("synced");

        var message = Assert.Single(seen);
        Assert.Equal("permits-to-partner:permit:Zo%C3%AB-1:1", message.Id);
        Assert.Equal("Zoë-1", System.Text.Json.JsonDocument.Parse(message.Body).RootElement.GetProperty("key").GetString());
        var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(secret[6..]),
            Encoding.UTF8.GetBytes($"{message.Id}.{message.Timestamp}.{message.Body}")));
        Assert.Equal(expected, message.Signature);
    }

    private static string RegistryYaml(SampleRegistry registry, string circuit) => $$"""
        storage: sqlite:lockstep.db
        systems:
          registry:
            type: http
            url: {{registry.Url}}
            circuit: {{circuit}}
        flows:
          permits-to-registry:
            on: [permitApproved]
            to: registry
            upsert: PUT /api/records/{key}
            headers: { X-Record-Version: "{version}" }
            retry: { maxAttempts: 100, initialDelay: 1s, maxDelay: 1s }
        """;

    [Fact]
    public async Task A_record_whose_request_cannot_be_built_is_a_permanent_dead_letter_and_leaves_the_circuit_closed()
    {
        await using var registry = await SampleRegistry.StartAsync(failureRate: 0);
        var requests = new Signal();
        registry.Changed += requests.Pulse;
        // The notes flow names its records in a header with a character no header can carry: its requests cannot be built.
        var notes = """
              notes-to-registry:
                on: [noteAdded]
                to: registry
                upsert: PUT /api/records/{key}
                headers: { X-Label: "Notiz für {key}" }
                retry: { maxAttempts: 100, initialDelay: 1s, maxDelay: 1s }
            """;
        await using var engine = await TestEngine.StartAsync(
            RegistryYaml(registry, "{ minimumThroughput: 2, failureRatio: 0.5, breakDuration: 10m, maxBreakDuration: 10m, samplingDuration: 10m }") + "\n" + notes, _time);

        await engine.PublishAsync([.. Enumerable.Range(1, 3).Select(i => new Lockstep.Events.Event($"note:N-{i}:1", "noteAdded", "note", $"N-{i}", 1, Lockstep.Records.RecordOp.Upsert, "{}"))]);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["registry"].Dead == 3, "the notes dead-lettered",
            limit: TimeSpan.FromSeconds(20), signal: engine.Committed);
        await engine.PublishAsync([.. Enumerable.Range(1, 5).Select(i => TestEngine.Permit($"P-{i}", 1))]);
        await Eventually.WaitAsync(() => registry.Records.Count == 5, "the permits at the target", limit: TimeSpan.FromSeconds(20), signal: requests);

        var dead = await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None);
        Assert.All(dead, d => Assert.Equal(1, d.Attempts));
        Assert.All(dead, d => Assert.StartsWith("the request cannot be built: header 'X-Label'", d.Error));
        Assert.Equal("closed", (await engine.StatusAsync()).Systems["registry"].Circuit);
        Assert.DoesNotContain(engine.Logs.Lines, l => l.Contains("Circuit for registry opened", StringComparison.Ordinal));
        Assert.All(registry.Requests, r => Assert.StartsWith("P-", r.Key));
    }

    [Fact]
    public async Task A_connector_that_throws_while_building_a_request_dead_letters_that_record_and_leaves_the_circuit_closed()
    {
        var seen = new ConcurrentQueue<string>();
        var arrived = new Signal();
        await using var target = await PartnerServer.StartAsync(app => app.MapPut("/forms/{key}", (string key) =>
        {
            seen.Enqueue(key);
            arrived.Pulse();
            return Results.Ok();
        }));
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              forms:
                type: forms
                circuit: { minimumThroughput: 2, failureRatio: 0.5, breakDuration: 10m, maxBreakDuration: 10m, samplingDuration: 10m }
            flows:
              permits-to-forms:
                on: [permitApproved]
                to: forms
                map: (p) => ({ url: p.status === 'broken' ? 'http://[not-a-host/' : '{{target.Url}}/forms/' + p.id })
                retry: { maxAttempts: 100, initialDelay: 1s, maxDelay: 1s }
            """;
        await using var engine = await TestEngine.StartAsync(yaml, _time, extraFactories: [new FormsConnector()]);

        await engine.PublishAsync([.. Enumerable.Range(1, 3).Select(i => TestEngine.Permit($"B-{i}", 1, status: "broken"))]);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["forms"].Dead == 3, "the broken records dead-lettered",
            limit: TimeSpan.FromSeconds(20), signal: engine.Committed);
        await engine.PublishAsync([.. Enumerable.Range(1, 5).Select(i => TestEngine.Permit($"P-{i}", 1))]);
        await Eventually.WaitAsync(() => seen.Count == 5, "the other records at the target", limit: TimeSpan.FromSeconds(20), signal: arrived);

        var dead = await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None);
        Assert.All(dead, d => Assert.Equal(1, d.Attempts));
        Assert.All(dead, d => Assert.StartsWith("the request cannot be built: UriFormatException", d.Error));
        Assert.Equal("closed", (await engine.StatusAsync()).Systems["forms"].Circuit);
    }

    /// <summary>An application's own connector: PUTs each record to the URL its mapping names, building the URI itself.</summary>
    private sealed class FormsConnector : Lockstep.Connectors.IConnectorFactory, Lockstep.Connectors.IConnector
    {
        private readonly HttpClient _client = new();

        public string Type => "forms";

        public IReadOnlyCollection<string> SystemKeys { get; } = [];

        public IReadOnlyCollection<string> FlowKeys { get; } = [];

        public object? BindSystem(Lockstep.Configuration.ConfigSection system) => null;

        public object? BindFlow(Lockstep.Configuration.ConfigSection flow, Lockstep.Configuration.SystemDefinition system) => null;

        public Lockstep.Connectors.IConnector Create(Lockstep.Configuration.SystemDefinition system, Lockstep.Connectors.ConnectorContext context) => this;

        public Lockstep.Sources.ISource CreateSource(Lockstep.Sources.SourceDefinition source, Lockstep.Configuration.SystemDefinition system, Lockstep.Connectors.ConnectorContext context) =>
            throw new NotSupportedException("not a source");

        public string? CannotReconcile(Lockstep.Configuration.FlowDefinition flow) => "forms cannot be read back";

        public async ValueTask<Lockstep.Connectors.ConnectorResult> ApplyAsync(Lockstep.Deliveries.Delivery delivery, Lockstep.Configuration.FlowDefinition flow,
            ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
        {
            var url = new Uri(System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("url").GetString()!);
            using var response = await _client.PutAsync(url, new ByteArrayContent(body.ToArray()), cancellationToken);
            return response.IsSuccessStatusCode ? Lockstep.Connectors.ConnectorResult.Success((int)response.StatusCode)
                : Lockstep.Connectors.ConnectorResult.Transient($"HTTP {(int)response.StatusCode}", (int)response.StatusCode);
        }

        public ValueTask<Lockstep.Connectors.TargetRead> ReadAsync(Lockstep.Deliveries.Delivery delivery, Lockstep.Configuration.FlowDefinition flow, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Lockstep.Connectors.TargetRead.Failed("forms cannot be read back"));

        public ValueTask DisposeAsync()
        {
            _client.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task A_record_that_keeps_failing_does_not_hold_back_the_records_published_after_it()
    {
        await using var registry = await SampleRegistry.StartAsync(failureRate: 0);
        var requests = new Signal();
        registry.Changed += requests.Pulse;
        // The target is healthy but refuses one record with 503, every time.
        registry.Override = key => key == "P-poisoned" ? 503 : null;
        await using var engine = await TestEngine.StartAsync(
            RegistryYaml(registry, "{ minimumThroughput: 4, failureRatio: 0.5, breakDuration: 10m, maxBreakDuration: 10m, samplingDuration: 30m }"), _time);
        int Attempts(string key) => registry.Requests.Count(r => r.Key == key);

        await engine.PublishAsync(TestEngine.Permit("P-0", 1));
        await Eventually.WaitAsync(() => registry.Records.ContainsKey("P-0"), "the first record", signal: requests);
        await engine.PublishAsync(TestEngine.Permit("P-poisoned", 1));
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromSeconds(1), () => Task.FromResult(Attempts("P-poisoned") >= 3), "three attempts of the failing record", requests);
        await engine.PublishAsync([.. Enumerable.Range(1, 10).Select(i => TestEngine.Permit($"P-{i}", 1))]);
        await Eventually.WaitAsync(() => registry.Records.Count == 11, "the records published after it, without waiting for a break",
            limit: TimeSpan.FromSeconds(20), signal: requests);

        Assert.Equal("closed", (await engine.StatusAsync()).Systems["registry"].Circuit);
        Assert.False(registry.Records.ContainsKey("P-poisoned"));
        Assert.Equal(0, (await engine.StatusAsync()).Systems["registry"].Dead);
    }
}
