using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Lockstep.Cli.Demo;
using Lockstep.Engines;
using Lockstep.Host;
using Lockstep.Telemetry;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

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
    }

    [Fact]
    public async Task The_host_exports_its_spans_to_the_otlp_endpoint()
    {
        await using var collector = await OtlpCollector.StartAsync();
        await using var registry = await SampleRegistry.StartAsync(failureRate: 0);
        using var folder = new TempFolder();
        var yaml = $$"""
            storage: sqlite:lockstep.db
            telemetry: { otlpEndpoint: "{{collector.Url}}" }
            systems:
              exported-registry: { type: http, url: "{{registry.Url}}", auth: { bearer: "${TOKEN}" } }
            flows:
              exported-flow: { on: [permitApproved], to: exported-registry, upsert: "PUT /api/records/{key}" }
            """;
        var config = TestEngine.Load(yaml, folder.Path, new Dictionary<string, string> { ["TOKEN"] = "export-tok-3c9d7a51" });
        var app = LockstepHost.Build(config, "http://127.0.0.1:0");
        await app.StartAsync();
        var engine = app.Services.GetRequiredService<LockstepEngine>();
        await Eventually.WaitAsync(() => engine.Ready, "the engine started");

        await engine.PublishAsync([TestEngine.Permit("P-77", 2)], CancellationToken.None);
        await Eventually.WaitAsync(async () => (await engine.StatusAsync(CancellationToken.None)).State == "synced", "synced");
        // Stopping the host flushes the exporter's batch.
        await app.StopAsync();
        await app.DisposeAsync();

        var exported = Encoding.UTF8.GetString([.. collector.Requests.SelectMany(r => r)]);
        Assert.Contains("lockstep.delivery", exported, StringComparison.Ordinal);
        Assert.Contains("lockstep.connector", exported, StringComparison.Ordinal);
        Assert.Contains("exported-flow", exported, StringComparison.Ordinal);
        Assert.Contains("P-77", exported, StringComparison.Ordinal);
        Assert.DoesNotContain("export-tok", exported, StringComparison.Ordinal);
    }

    /// <summary>An OTLP/gRPC trace collector on 127.0.0.1 (HTTP/2 without TLS): keeps each export request's body, answers OK.</summary>
    private sealed class OtlpCollector : IAsyncDisposable
    {
        private WebApplication _app = null!;

        public ConcurrentQueue<byte[]> Requests { get; } = new();

        public string Url { get; private set; } = "";

        public static async Task<OtlpCollector> StartAsync()
        {
            var collector = new OtlpCollector();
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
            builder.Logging.ClearProviders();
            var app = builder.Build();
            app.MapPost("/opentelemetry.proto.collector.trace.v1.TraceService/Export", async (HttpContext context) =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                collector.Requests.Enqueue(body.ToArray());
                context.Response.ContentType = "application/grpc";
                await context.Response.Body.WriteAsync(new byte[5]); // an empty ExportTraceServiceResponse, uncompressed
                context.Response.AppendTrailer("grpc-status", "0");
            });
            await app.StartAsync();
            collector._app = app;
            collector.Url = app.ListeningUrl();
            return collector;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
