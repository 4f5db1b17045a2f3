using System.Collections.Concurrent;
using Lockstep.Configuration;
using Lockstep.Host;
using Lockstep.Host.Api;
using Lockstep.Host.Fluent;
using Lockstep.Tests.Sources;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Lockstep.Tests.Fluent;

/// <summary>The C# builder (the seeds' <c>sync.source(...).poll(...).onChange(...)</c>) in an ASP.NET Core app, on the same engine.</summary>
public sealed class FluentBuilderTests
{
    [Fact]
    public async Task A_polled_source_reaches_the_change_handler_and_the_target_through_the_journal()
    {
        using var folder = new TempFolder();
        await using var clerk = await Clerk.StartAsync();
        var start = DateTimeOffset.Parse("2026-11-23T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 1; i <= 5; i++) clerk.Put($"P-{i}", "approved", start.AddMinutes(i));
        var inspections = new ConcurrentDictionary<string, string>();
        await using var marshal = await PartnerServer.StartAsync(app => app.MapPut("/inspections/{id}", async (string id, HttpContext context) =>
        {
            inspections[id] = await new StreamReader(context.Request.Body).ReadToEndAsync();
            return Results.NoContent();
        }));
        var changes = new ConcurrentQueue<Change>();
        var failOnce = 1;

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddLockstep(lockstep =>
        {
            lockstep.Storage("sqlite:data/lockstep.db").HttpSystem("county-clerk", clerk.Url).HttpSystem("fire-marshal", marshal.Url);
            lockstep.Source("county-clerk").Poll("/permits?since={cursor}", every: TimeSpan.FromMilliseconds(200))
                .Entity("permit", key: "id", version: "updatedAt", cursor: "updatedAt", overlap: TimeSpan.FromSeconds(5))
                .OnChange(change =>
                {
                    // A handler that throws is retried like a failing system: the change is not lost.
                    if (change.Key == "P-3" && Interlocked.Exchange(ref failOnce, 0) == 1) throw new InvalidOperationException("not yet");
                    changes.Enqueue(change);
                });
            lockstep.Target("fire-marshal").Put("/inspections/{key}", entity: "permit", map: "(p) => ({ permitId: p.id, status: p.status })");
        }, folder.Path);
        await using var app = builder.Build();
        app.MapLockstepApi();
        await app.StartAsync();

        await Eventually.WaitAsync(() => changes.Count == 5 && inspections.Count == 5, "five changes handled and delivered");
        clerk.Put("P-2", "revoked", start.AddMinutes(10));
        await Eventually.WaitAsync(() => changes.Count == 6 && inspections["P-2"].Contains("revoked", StringComparison.Ordinal), "the revision");
        using var http = new HttpClient();
        var status = await http.GetStringAsync($"{app.ListeningUrl()}/api/status");
        await app.StopAsync();

        Assert.Equal(["P-1", "P-2", "P-3", "P-4", "P-5"], changes.Take(5).Select(c => c.Key).Order(StringComparer.Ordinal));
        Assert.Equal(1, changes.Count(c => c.Key == "P-3"));
        var revision = changes.Last();
        Assert.Equal(("P-2", false), (revision.Key, revision.Deleted));
        Assert.Equal("revoked", revision.Data!.Value.GetProperty("status").GetString());
        Assert.Equal("""{"permitId":"P-1","status":"approved"}""", inspections["P-1"]);
        Assert.Contains("\"permit-to-fire-marshal\"", status, StringComparison.Ordinal);
        Assert.Contains("\"county-clerk-on-change\"", status, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder.Path, "data", "lockstep.db")));
    }

    [Fact]
    public void Builder_mistakes_are_reported_like_config_errors()
    {
        var lockstep = new LockstepBuilder();
        lockstep.HttpSystem("fire-marshal", "not a url");
        lockstep.Target("fire-marhsal").Put("/inspections/{key}", entity: "permit", map: "(p) => ({ id: p.id ");

        var errors = Assert.Throws<ConfigException>(() => lockstep.Build("/tmp")).Errors;

        Assert.Contains(errors, e => e.Path == "systems.fire-marshal.url");
        Assert.Contains(errors, e => e.Path == "flows.permit-to-fire-marhsal.to" && e.Message.Contains("fire-marshal", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "flows.permit-to-fire-marhsal.map");
    }

    [Fact]
    public void The_builder_writes_the_yaml_a_file_would_hold()
    {
        var lockstep = new LockstepBuilder().Storage("sqlite:x.db").HttpSystem("clerk", "http://127.0.0.1:7001", bearerToken: "${CLERK_TOKEN}");
        lockstep.Source("clerk").Poll("/permits?since={cursor}", every: TimeSpan.FromMinutes(5)).Entity("permit", key: "id", cursor: "updatedAt");
        lockstep.Target("clerk").Put("/archive/{key}", entity: "permit");

        var config = new ConfigLoader(LockstepServiceCollectionExtensions.ConnectorFactories, name => name == "CLERK_TOKEN" ? "tok-1" : null)
            .Parse(lockstep.ToYaml(), "/tmp/lockstep.yaml");

        var source = Assert.Single(config.Sources);
        Assert.Equal(("clerk", "/permits?since={cursor}"), (source.System, source.Request));
        Assert.Contains("interval: \"5m\"", lockstep.ToYaml(), StringComparison.Ordinal);
    }
}
