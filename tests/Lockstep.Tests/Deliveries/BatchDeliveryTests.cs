using System.Collections.Concurrent;
using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Deliveries;

/// <summary><c>batch:</c> on an http flow: upserts go as JSON arrays to a real Kestrel target that counts requests.</summary>
public sealed class BatchDeliveryTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = Clock.Fake();
    private readonly ConcurrentQueue<(string[] Keys, string[] Ids, int Status)> _requests = new();
    private readonly Signal _arrived = new();
    private PartnerServer _target = null!;
    private int _failFirst;

    public async Task InitializeAsync() => _target = await PartnerServer.StartAsync(app => app.MapPost("/api/records/batch", async (HttpContext context) =>
    {
        using var body = await JsonDocument.ParseAsync(context.Request.Body);
        var ids = body.RootElement.EnumerateArray().Select(r => r.GetProperty("id").GetString()!).ToArray();
        var keys = context.Request.Headers["Idempotency-Keys"].ToString().Split(',').Select(Uri.UnescapeDataString).ToArray();
        var status = Interlocked.Decrement(ref _failFirst) >= 0 ? 503 : 200;
        _requests.Enqueue((keys, ids, status));
        _arrived.Pulse();
        return Results.StatusCode(status);
    }));

    public async Task DisposeAsync() => await _target.DisposeAsync();

    private string Yaml => $$"""
        storage: sqlite:lockstep.db
        delivery: { batchSize: 10 }
        systems:
          logistics: { type: http, url: "{{_target.Url}}" }
        flows:
          supplies:
            on: [permitApproved]
            to: logistics
            map: (p) => ({ id: p.id, status: p.status })
            batch: POST /api/records/batch
            linger: 50ms
            retry: { maxAttempts: 10, initialDelay: 1s, maxDelay: 2s }
        """;

    private IEnumerable<string> Delivered => _requests.Where(r => r.Status == 200).SelectMany(r => r.Ids);

    [Fact]
    public async Task Records_go_in_fewer_requests_than_records_and_each_exactly_once()
    {
        await using var engine = await TestEngine.StartAsync(Yaml, _time);

        await engine.PublishAsync([.. Enumerable.Range(1, 25).Select(i => TestEngine.Permit($"S-{i}", 1))]);
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromMilliseconds(50), () => Task.FromResult(Delivered.Count() >= 25), "all 25 records", _arrived);
        await engine.WaitForStateAsync("synced");

        var requests = _requests.ToArray();
        Assert.True(requests.Length < 25, $"{requests.Length} requests for 25 records");
        Assert.All(requests, r => Assert.InRange(r.Ids.Length, 1, 10));
        Assert.Equal(Enumerable.Range(1, 25).Select(i => $"S-{i}").Order(), Delivered.Order());
        Assert.All(requests, r => Assert.Equal(r.Ids.Select(id => $"supplies:permit:{id}:1"), r.Keys));
    }

    [Fact]
    public async Task A_flows_batchSize_caps_its_batches_below_the_engines()
    {
        await using var engine = await TestEngine.StartAsync(Yaml.Replace("linger: 50ms", "linger: 50ms\n    batchSize: 3", StringComparison.Ordinal), _time);

        await engine.PublishAsync([.. Enumerable.Range(1, 12).Select(i => TestEngine.Permit($"S-{i}", 1))]);
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromMilliseconds(50), () => Task.FromResult(Delivered.Count() >= 12), "all 12 records", _arrived);
        await engine.WaitForStateAsync("synced");

        var requests = _requests.ToArray();
        Assert.All(requests, r => Assert.InRange(r.Ids.Length, 1, 3));
        Assert.Contains(requests, r => r.Ids.Length == 3);
        Assert.Equal(12, Delivered.Distinct().Count());
    }

    [Fact]
    public void A_batchSize_without_batch_is_refused()
    {
        using var folder = new TempFolder();
        var yaml = Yaml.Replace("batch: POST /api/records/batch", "upsert: PUT /api/records/{key}", StringComparison.Ordinal)
            .Replace("linger: 50ms", "batchSize: 3", StringComparison.Ordinal);

        var errors = Assert.Throws<ConfigException>(() => TestEngine.Load(yaml, folder.Path)).Errors;

        Assert.Equal("flows.supplies.batchSize: only applies with 'batch'", Assert.Single(errors).ToString().Split(": ", 2)[1]);
    }

    [Fact]
    public async Task A_failed_batch_is_retried_with_the_same_idempotency_keys()
    {
        _failFirst = 1;
        await using var engine = await TestEngine.StartAsync(Yaml, _time);

        await engine.PublishAsync([.. Enumerable.Range(1, 5).Select(i => TestEngine.Permit($"S-{i}", 1))]);
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromMilliseconds(100), () => Task.FromResult(Delivered.Count() >= 5), "the retried records", _arrived);
        await engine.WaitForStateAsync("synced");

        var failed = _requests.First();
        Assert.Equal(503, failed.Status);
        Assert.Equal(5, failed.Keys.Length);
        Assert.Equal(failed.Keys.Order(), _requests.Where(r => r.Status == 200).SelectMany(r => r.Keys).Order());
        Assert.Equal(5, Delivered.Count());
    }

    [Fact]
    public void Batch_with_a_placeholder_and_linger_without_batch_are_errors_naming_the_key()
    {
        var yaml = Yaml.Replace("batch: POST /api/records/batch", "batch: POST /api/records/{key}", StringComparison.Ordinal);
        var linger = Yaml.Replace("batch: POST /api/records/batch", "upsert: PUT /api/records/{key}", StringComparison.Ordinal);

        var errors = Assert.Throws<ConfigException>(() => TestEngine.Load(yaml, "/tmp")).Errors;
        var lingerErrors = Assert.Throws<ConfigException>(() => TestEngine.Load(linger, "/tmp")).Errors;

        Assert.Contains(errors, e => e.Path == "flows.supplies.batch" && e.Line == 10);
        Assert.Contains(lingerErrors, e => e.Path == "flows.supplies.linger" && e.Line == 11);
    }
}
