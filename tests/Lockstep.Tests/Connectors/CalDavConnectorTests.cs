using Lockstep.Connectors;
using Lockstep.Connectors.CalDav;
using Lockstep.Deliveries;
using Lockstep.Events;
using Lockstep.Records;
using Lockstep.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Connectors;

/// <summary>
/// The caldav connector against the real Radicale started by ./test.sh, each test on its own fresh calendar collection.
/// One class, so the test that stops Radicale never runs beside another that needs it.
/// </summary>
public sealed class CalDavConnectorTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = Clock.Fake();
    private RadicaleCalendar _calendar = null!;

    public async Task InitializeAsync() => _calendar = await RadicaleCalendar.CreateAsync();

    public Task DisposeAsync()
    {
        _calendar.Dispose();
        return Task.CompletedTask;
    }

    private string Yaml => $$"""
        storage: sqlite:lockstep.db
        systems:
          scheduler:
            type: caldav
            url: {{_calendar.Url}}
            auth: { basic: { user: {{TestServers.CalDavUser}}, password: "${CALDAV_PASSWORD}" } }
        flows:
          permit-inspection:
            on: [permitApproved, permitRevoked]
            to: scheduler
            map: (p) => ({ summary: `Inspection ${p.id} (${p.status})`, start: p.inspectionAt, durationMinutes: 60, location: p.address })
            retry: { maxAttempts: 50, initialDelay: 1s, maxDelay: 2s }
        """;

    private Task<TestEngine> StartAsync(string? password = null) =>
        TestEngine.StartAsync(Yaml, _time, new Dictionary<string, string> { ["CALDAV_PASSWORD"] = password ?? TestServers.CalDavPassword });

    private static Event Permit(string key, long version, string status = "approved", string? inspectionAt = "2026-12-01T09:00:00Z") =>
        new($"permit:{key}:{version}", "permitApproved", "permit", key, version, RecordOp.Upsert,
            $$"""{"id":"{{key}}","status":"{{status}}","address":"1 Main St, Springfield"{{(inspectionAt is null ? "" : $",\"inspectionAt\":\"{inspectionAt}\"")}}}""");

    private static Event Revoke(string key, long version) => new($"permit:{key}:{version}", "permitRevoked", "permit", key, version, RecordOp.Delete, null);

    private async Task<string> WaitForEventAsync(string uid, string version)
    {
        string? ics = null;
        await Eventually.WaitAsync(async () => (ics = await _calendar.GetAsync(uid)) is { } found && RadicaleCalendar.Property(found, "X-LOCKSTEP-VERSION") == version,
            $"{uid} at version {version} in the calendar");
        return ics!;
    }

    [Fact]
    public async Task Records_become_events_updated_in_place_by_uid()
    {
        await using var engine = await StartAsync();

        await engine.PublishAsync(Permit("P-1", 1));
        var first = await WaitForEventAsync("permit-P-1", "1");
        await engine.PublishAsync(Permit("P-1", 2, status: "revised", inspectionAt: "2026-12-02T14:30:00+01:00"));
        var second = await WaitForEventAsync("permit-P-1", "2");

        Assert.Equal("permit-P-1", RadicaleCalendar.Property(first, "UID"));
        Assert.Equal("Inspection P-1 (approved)", RadicaleCalendar.Property(first, "SUMMARY"));
        Assert.Equal("20261201T090000Z", RadicaleCalendar.Property(first, "DTSTART"));
        Assert.Equal("20261201T100000Z", RadicaleCalendar.Property(first, "DTEND"));
        Assert.Equal("Inspection P-1 (revised)", RadicaleCalendar.Property(second, "SUMMARY"));
        Assert.Equal("20261202T133000Z", RadicaleCalendar.Property(second, "DTSTART"));
        Assert.Equal("2", RadicaleCalendar.Property(second, "SEQUENCE"));
        Assert.Equal("permit-inspection:permit:P-1:2", RadicaleCalendar.Property(second, "X-LOCKSTEP-IDEMPOTENCY-KEY"));
        Assert.Single(await _calendar.ListAsync());
    }

    [Fact]
    public async Task Delete_removes_the_event_and_an_event_already_gone_counts_as_deleted()
    {
        await using var engine = await StartAsync();
        await engine.PublishAsync(Permit("P-2", 1));
        await WaitForEventAsync("permit-P-2", "1");

        await engine.PublishAsync(Revoke("P-2", 2));
        await Eventually.WaitAsync(async () => await _calendar.GetAsync("permit-P-2") is null, "the event deleted");
        await using var connector = Connector(engine);
        var again = await connector.ApplyAsync(Delivery("P-2", 3, RecordOp.Delete), engine.Config.Flows[0], default, CancellationToken.None);

        Assert.Equal(ResultKind.Success, again.Kind);
        Assert.Equal(404, again.StatusCode);
        Assert.Empty(await _calendar.ListAsync());
    }

    [Fact]
    public async Task A_retried_write_replaces_the_event_and_an_outside_edit_is_retried_with_the_fresh_etag()
    {
        await using var engine = await StartAsync();
        await using var connector = Connector(engine);
        var flow = engine.Config.Flows[0];

        var first = await connector.ApplyAsync(Delivery("P-3", 1), flow, Body("first"), CancellationToken.None);
        var retried = await connector.ApplyAsync(Delivery("P-3", 1), flow, Body("first"), CancellationToken.None);
        var edited = (await _calendar.GetAsync("permit-P-3"))!.Replace("SUMMARY:first", "SUMMARY:moved by a planner", StringComparison.Ordinal);
        await _calendar.PutAsync("permit-P-3", edited);
        var conflict = await connector.ApplyAsync(Delivery("P-3", 2), flow, Body("second"), CancellationToken.None);
        var retry = await connector.ApplyAsync(Delivery("P-3", 2), flow, Body("second"), CancellationToken.None);

        Assert.Equal((ResultKind.Success, ResultKind.Success), (first.Kind, retried.Kind));
        Assert.True(conflict is { Kind: ResultKind.Transient, StatusCode: 412 }, $"{conflict.Kind} {conflict.StatusCode}: {conflict.Error}");
        Assert.True(retry.Kind == ResultKind.Success, $"{retry.Kind}: {retry.Error}");
        var stored = (await _calendar.GetAsync("permit-P-3"))!;
        Assert.Equal("second", RadicaleCalendar.Property(stored, "SUMMARY"));
        Assert.Single(await _calendar.ListAsync());
    }

    [Fact]
    public async Task A_conflict_over_a_version_the_server_already_holds_counts_as_done()
    {
        await using var engine = await StartAsync();
        await using var nodeA = Connector(engine);
        await using var nodeB = Connector(engine);
        var flow = engine.Config.Flows[0];
        await nodeA.ApplyAsync(Delivery("P-4", 1), flow, Body("v1"), CancellationToken.None);

        // Node B delivered v2 (node A's answer for it was lost); node A's retry carries its stale ETag.
        await nodeB.ApplyAsync(Delivery("P-4", 2), flow, Body("v2"), CancellationToken.None);
        var retry = await nodeA.ApplyAsync(Delivery("P-4", 2), flow, Body("v2"), CancellationToken.None);

        Assert.Equal(ResultKind.Success, retry.Kind);
        Assert.Equal("2", RadicaleCalendar.Property((await _calendar.GetAsync("permit-P-4"))!, "X-LOCKSTEP-VERSION"));
        Assert.Single(await _calendar.ListAsync());
    }

    [Fact]
    public async Task Reading_an_event_back_covers_what_was_mapped()
    {
        await using var engine = await StartAsync();
        await using var connector = Connector(engine);
        var body = """{"summary":"Inspection P-5","start":"2026-12-01T10:00:00+01:00","durationMinutes":45,"location":"Town hall"}"""u8.ToArray();

        await connector.ApplyAsync(Delivery("P-5", 7), engine.Config.Flows[0], body, CancellationToken.None);
        var held = await connector.ReadAsync(Delivery("P-5", 7), engine.Config.Flows[0], CancellationToken.None);
        var missing = await connector.ReadAsync(Delivery("P-6", 1), engine.Config.Flows[0], CancellationToken.None);

        Assert.True(held.Exists, held.Error);
        Assert.True(Lockstep.Reconciliation.Reconciler.Covers(held.Json!, body), held.Json);
        Assert.Contains("\"version\":7", held.Json!, StringComparison.Ordinal);
        Assert.False(missing.Exists);
        Assert.Null(missing.Error);
    }

    [Fact]
    public async Task Wrong_password_is_a_permanent_failure_that_never_shows_the_password()
    {
        const string wrong = "not-the-caldav-password-42";
        await using var engine = await StartAsync(password: wrong);

        await engine.PublishAsync(Permit("P-7", 1));
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["scheduler"].Dead == 1, "a dead letter", signal: engine.Committed);

        var dead = Assert.Single(await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None));
        Assert.Equal(401, dead.StatusCode);
        Assert.Equal(1, dead.Attempts);
        Assert.DoesNotContain(wrong, dead.Error ?? "", StringComparison.Ordinal);
        Assert.DoesNotContain(engine.Logs.Lines, l => l.Contains(wrong, StringComparison.Ordinal));
        Assert.Empty(await _calendar.ListAsync());
    }

    [Fact]
    public async Task Missing_start_is_a_permanent_failure_naming_the_field()
    {
        await using var engine = await StartAsync();

        await engine.PublishAsync(Permit("P-8", 1, inspectionAt: null));
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["scheduler"].Dead == 1, "a dead letter", signal: engine.Committed);

        var dead = Assert.Single(await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None));
        Assert.Contains("'start'", dead.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stopped_server_is_retried_and_nothing_is_lost()
    {
        await using var engine = await StartAsync();
        await TestServers.ControlAsync("CALDAV", "stop");
        try
        {
            await engine.PublishAsync(Permit("P-10", 1), Permit("P-11", 1), Permit("P-12", 1));
            await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Systems["scheduler"].LastFailureAt is not null, "a failed attempt", signal: engine.Committed);
        }
        finally
        {
            await TestServers.ControlAsync("CALDAV", "start");
        }
        await engine.PublishAsync(Permit("P-11", 2, status: "revised"));

        await Eventually.AdvanceUntilAsync(_time, TimeSpan.FromSeconds(1), async () => (await _calendar.ListAsync()).Count == 3
            && await _calendar.GetAsync("permit-P-11") is { } p11 && RadicaleCalendar.Property(p11, "X-LOCKSTEP-VERSION") == "2", "every permit in the calendar", engine.Committed);
        await engine.WaitForStateAsync("synced");

        var status = await engine.StatusAsync();
        Assert.Equal(0, status.Systems["scheduler"].Dead);
        Assert.Contains("network error", status.Systems["scheduler"].LastError, StringComparison.Ordinal);
    }

    private static ReadOnlyMemory<byte> Body(string summary) =>
        System.Text.Encoding.UTF8.GetBytes($$"""{"summary":"{{summary}}","start":"2026-12-01T09:00:00Z","durationMinutes":30}""");

    private static Delivery Delivery(string key, long version, RecordOp op = RecordOp.Upsert) =>
        new(1, "permit-inspection", "scheduler", "permit", key, version, op, $"permit:{key}:{version}", "permitApproved", null, 1);

    private IConnector Connector(TestEngine engine) =>
        new CalDavConnectorFactory().Create(engine.Config.Systems["scheduler"], new ConnectorContext(_time, NullLoggerFactory.Instance, engine.Config.Secrets));
}
