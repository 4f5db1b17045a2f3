using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Connectors.Http;
using Lockstep.Deliveries;
using Lockstep.Records;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lockstep.Tests.Deliveries;

/// <summary>A system's <c>rateLimit:</c>: requests beyond it wait their turn in the lane, and waiting is not a failure.</summary>
public sealed class SystemRateLimitTests
{
    private static string Yaml(string url, string rateLimit) => $$"""
        storage: sqlite:lockstep.db
        systems:
          registry:
            type: http
            url: {{url}}
            rateLimit: {{rateLimit}}
        flows:
          permits:
            on: [permitApproved]
            to: registry
            upsert: PUT /records/{key}
        """;

    [Fact]
    public async Task Requests_beyond_the_rate_wait_for_their_turn_without_failing()
    {
        var received = 0;
        var arrived = new Signal();
        await using var target = await PartnerServer.StartAsync(app => app.MapPut("/records/{key}", () =>
        {
            Interlocked.Increment(ref received);
            arrived.Pulse();
            return Results.NoContent();
        }));
        var config = TestEngine.Load(Yaml(target.Url, "{ requests: 3, per: 1h }"), "/tmp");
        var system = config.Systems["registry"];
        var connector = new HttpConnectorFactory().Create(system, new ConnectorContext(Clock.Fake(), NullLoggerFactory.Instance, config.Secrets));
        await using var lane = new SystemLane(system, connector, Clock.Fake(), NullLogger.Instance, 256);
        using var stop = new CancellationTokenSource();

        var attempts = Enumerable.Range(1, 5).Select(i => lane.ApplyAsync(
            new Delivery(i, "permits", "registry", "permit", $"P-{i}", 1, RecordOp.Upsert, $"e{i}", "permitApproved", "{}", 1),
            config.Flows[0], "{}"u8.ToArray(), stop.Token, CancellationToken.None).AsTask()).ToArray();
        await Eventually.WaitAsync(() => Volatile.Read(ref received) == 3 && lane.WaitingForRate == 2, "three sent and two waiting", signal: arrived);
        await stop.CancelAsync();
        var results = await Task.WhenAll(attempts);

        Assert.Equal(3, results.Count(r => r.CircuitRetryAfter is null && r.Result.Kind == ResultKind.Success));
        // Still waiting at shutdown: not sent and not failed, due again at once.
        Assert.Equal(2, results.Count(r => r.CircuitRetryAfter == TimeSpan.Zero));
        Assert.Equal(3, received);
    }

    [Theory]
    [InlineData("{ requests: 0, per: 1s }", "systems.registry.rateLimit.requests")]
    [InlineData("{ requests: 10 }", "systems.registry.rateLimit.per")]
    [InlineData("{ requests: 10, per: soon }", "systems.registry.rateLimit.per")]
    [InlineData("{ requests: 10, per: 1s, burst: 5 }", "systems.registry.rateLimit.burst")]
    public void A_malformed_rate_limit_is_an_error_naming_the_key(string rateLimit, string path)
    {
        var errors = Assert.Throws<ConfigException>(() => TestEngine.Load(Yaml("http://127.0.0.1:9", rateLimit), "/tmp")).Errors;

        Assert.Contains(errors, e => e.Path == path && e.Line == 6);
    }
}
