using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Lockstep.Records;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Connectors;

/// <summary>The outbound webhook connector against a real subscriber that checks signatures itself.</summary>
public sealed class WebhookConnectorTests : IAsyncLifetime
{
    private readonly string _newSecret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
    private readonly string _oldSecret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
    private readonly ConcurrentQueue<(string Id, string Timestamp, string Signature, string Body)> _received = new();
    private readonly FakeTimeProvider _time = Clock.Fake();
    private readonly Signal _arrived = new();
    private PartnerServer _subscriber = null!;
    private int _answer = 200;

    public async Task InitializeAsync() => _subscriber = await PartnerServer.StartAsync(app => app.MapPost("/hooks", async (HttpContext context) =>
    {
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
        _received.Enqueue((context.Request.Headers["webhook-id"].ToString(), context.Request.Headers["webhook-timestamp"].ToString(),
            context.Request.Headers["webhook-signature"].ToString(), body));
        _arrived.Pulse();
        return Results.StatusCode(_answer);
    }));

    public async Task DisposeAsync() => await _subscriber.DisposeAsync();

    private string Yaml => $$"""
        storage: sqlite:lockstep.db
        systems:
          partner: { type: webhook, url: "{{_subscriber.Url}}/hooks", secrets: ["${NEW_SECRET}", "${OLD_SECRET}"] }
        flows:
          permits-to-partner:
            on: [permitApproved, permitRevoked]
            to: partner
            map: (p) => ({ id: p.id, status: p.status })
            retry: { maxAttempts: 5, initialDelay: 1s, maxDelay: 1s }
        """;

    private Task<TestEngine> StartAsync() =>
        TestEngine.StartAsync(Yaml, _time, new Dictionary<string, string> { ["NEW_SECRET"] = _newSecret, ["OLD_SECRET"] = _oldSecret });

    /// <summary>Standard Webhooks verification written out independently of the engine's code.</summary>
    private static bool Verifies(string secret, (string Id, string Timestamp, string Signature, string Body) m)
    {
        var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(secret[6..]), Encoding.UTF8.GetBytes($"{m.Id}.{m.Timestamp}.{m.Body}")));
        return m.Signature.Split(' ').Contains(expected);
    }

    [Fact]
    public async Task Posts_signed_with_every_secret_and_retries_with_the_same_webhook_id()
    {
        await using var engine = await StartAsync();
        _answer = 503;

        await engine.PublishAsync(TestEngine.Permit("P-1", 2));
        await Eventually.WaitAsync(() => !_received.IsEmpty, "first attempt", signal: _arrived);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["partner"].LastFailureAt is not null, "failure recorded", signal: engine.Committed);
        _answer = 204;
        _time.Advance(TimeSpan.FromSeconds(30));
        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromSeconds(1), () => Task.FromResult(_received.Count >= 2), "the retry", _arrived);
        await engine.WaitForStateAsync("synced");

        var attempts = _received.ToArray();
        Assert.Equal("permits-to-partner:permit:P-1:2", attempts[0].Id);
        Assert.Equal(attempts[0].Id, attempts[1].Id);
        Assert.NotEqual(attempts[0].Timestamp, attempts[1].Timestamp);
        Assert.All(attempts, a => Assert.True(Verifies(_newSecret, a) && Verifies(_oldSecret, a)));
        Assert.Equal("""{"type":"permitApproved","entity":"permit","key":"P-1","version":2,"op":"upsert","data":{"id":"P-1","status":"approved"}}""", attempts[1].Body);
    }

    [Fact]
    public async Task Gone_disables_the_subscriber_and_deletes_carry_null_data()
    {
        await using var engine = await StartAsync();

        await engine.PublishAsync(TestEngine.Permit("P-1", 3, type: "permitRevoked", op: RecordOp.Delete));
        await Eventually.WaitAsync(() => _received.Count == 1, "the delete", signal: _arrived);
        await engine.WaitForStateAsync("synced");
        _answer = 410;
        await engine.PublishAsync(TestEngine.Permit("P-2", 1));
        await Eventually.WaitAsync(() => _received.Count == 2, "the 410", signal: _arrived);
        await engine.PublishAsync(TestEngine.Permit("P-3", 1));
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["partner"].Dead == 2, "two dead letters", signal: engine.Committed);

        Assert.Contains("\"op\":\"delete\",\"data\":null", _received.First().Body);
        Assert.Equal(2, _received.Count);
        var dead = await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None);
        Assert.Contains(dead, d => d.Key == "P-3" && d.Error!.Contains("disabled", StringComparison.Ordinal));
        Assert.DoesNotContain(engine.Logs.Lines, l => l.Contains(_newSecret[6..], StringComparison.Ordinal));
    }
}
