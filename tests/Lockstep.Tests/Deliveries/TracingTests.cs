using System.Collections.Concurrent;
using System.Diagnostics;
using Lockstep.Cli.Demo;
using Lockstep.Host;
using Lockstep.Telemetry;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Deliveries;

public sealed class TracingTests
{
    [Fact]
    public async Task Intake_delivery_and_connector_spans_carry_identifiers_only()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == LockstepActivities.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var registry = await SampleRegistry.StartAsync(failureRate: 0);
        var yaml = $$"""
            storage: sqlite:lockstep.db
            telemetry: { otlpEndpoint: "http://127.0.0.1:4317" }
            systems:
              traced-registry: { type: http, url: "{{registry.Url}}", auth: { bearer: "${TOKEN}" } }
            flows:
              traced-flow: { on: [permitApproved], to: traced-registry, upsert: "PUT /api/records/{key}" }
            """;
        await using var engine = await TestEngine.StartAsync(yaml, TimeProvider.System, new Dictionary<string, string> { ["TOKEN"] = "trace-tok-8e1f0c2b" });

        await engine.PublishAsync(TestEngine.Permit("P-1", 4));
        await engine.WaitForStateAsync("synced");

        var delivery = Assert.Single(spans, s => s.OperationName == "lockstep.delivery" && (string?)s.GetTagItem("lockstep.flow") == "traced-flow");
        Assert.Equal(("P-1", 4L, "delivered"), ((string?)delivery.GetTagItem("lockstep.key"), (long?)delivery.GetTagItem("lockstep.version"), (string?)delivery.GetTagItem("lockstep.outcome")));
        Assert.Contains(spans, s => s.OperationName == "lockstep.connector" && s.ParentSpanId == delivery.SpanId);
        // The link leads to this engine's intake span (other tests running at the same time add intake spans of their own).
        var link = Assert.Single(delivery.Links);
        Assert.Contains(spans, s => s.OperationName == "lockstep.intake" && (s.TraceId, s.SpanId) == (link.Context.TraceId, link.Context.SpanId));
        Assert.DoesNotContain(spans.SelectMany(s => s.TagObjects), t => t.Value?.ToString()?.Contains("trace-tok", StringComparison.Ordinal) == true);
        Assert.NotNull(engine.Config.OtlpEndpoint);
        await using var app = LockstepHost.Build(engine.Config, "http://127.0.0.1:0");
    }
}
