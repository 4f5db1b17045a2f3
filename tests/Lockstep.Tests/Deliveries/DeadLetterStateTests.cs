using Lockstep.Status;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Tests.Deliveries;

/// <summary>What dead letters do to a system's state over time, and what their log line says.</summary>
public sealed class DeadLetterStateTests
{
    private static string Yaml(string target) => $$"""
        storage: sqlite:lockstep.db
        systems:
          registry: { type: http, url: "{{target}}" }
        flows:
          permits-to-registry:
            on: [permitApproved]
            to: registry
            map: |
              (p) => { if (p.id === 'NO-MAP') throw new Error('owner is missing'); return p; }
            upsert: PUT /api/records/{key}
        """;

    private static async Task<PartnerServer> RegistryAsync() =>
        await PartnerServer.StartAsync(app => app.MapPut("/api/records/{key}", (string key) =>
            key == "BAD" ? Results.Text("applicantName is required", statusCode: 400) : Results.NoContent()));

    [Fact]
    public async Task A_system_with_only_old_dead_letters_and_no_recent_failure_is_degraded_not_failing()
    {
        var time = Clock.Fake();
        await using var registry = await RegistryAsync();
        await using var engine = await TestEngine.StartAsync(Yaml(registry.Url), time);

        await engine.PublishAsync(TestEngine.Permit("BAD", 1));
        await engine.WaitForStateAsync(SyncState.Failing, "registry");
        time.Advance(StatusBuilder.RecentFailures - TimeSpan.FromMinutes(1));
        var stillRecent = (await engine.StatusAsync()).Systems["registry"].State;
        time.Advance(TimeSpan.FromMinutes(2));
        await engine.PublishAsync(TestEngine.Permit("GOOD", 1));
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["registry"].Delivered == 1, "the good record delivered", signal: engine.Committed);
        var status = await engine.StatusAsync();

        Assert.Equal(SyncState.Failing, stillRecent);
        Assert.Equal((SyncState.Degraded, 1L), (status.Systems["registry"].State, status.Systems["registry"].Dead));
        Assert.Equal(SyncState.Degraded, status.Flows["permits-to-registry"].State);
        Assert.Equal(SyncState.Degraded, status.State);
    }

    [Fact]
    public async Task The_dead_letter_log_line_gives_the_reason_and_never_status_null()
    {
        await using var registry = await RegistryAsync();
        await using var engine = await TestEngine.StartAsync(Yaml(registry.Url), Clock.Fake());

        await engine.PublishAsync(TestEngine.Permit("BAD", 1), TestEngine.Permit("NO-MAP", 1));
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["registry"].Dead == 2, "two dead letters", signal: engine.Committed);

        var lines = engine.Logs.Lines.Where(l => l.Contains("Dead letter on", StringComparison.Ordinal)).ToList();
        Assert.Contains(lines, l => l.Contains("permit/BAD v1: HTTP 400 Bad Request: applicantName is required", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("permit/NO-MAP v1: ", StringComparison.Ordinal) && l.Contains("owner is missing", StringComparison.Ordinal));
        Assert.DoesNotContain(engine.Logs.Lines, l => l.Contains("(null)", StringComparison.Ordinal));
    }
}
