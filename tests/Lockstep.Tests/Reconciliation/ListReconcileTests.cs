using System.Collections.Concurrent;
using System.Text.Json;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Reconciliation;

/// <summary>
/// Reconciliation through a flow's <c>list</c> operation against a real Kestrel target that pages in each supported
/// style (three records a page), on a real SQLite journal and a fake clock.
/// </summary>
public sealed class ListReconcileTests : IAsyncLifetime
{
    private const int PageSize = 3;
    private readonly FakeTimeProvider _time = Clock.Fake();
    private readonly ConcurrentDictionary<string, string> _records = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _requests = new();
    private PartnerServer _target = null!;

    public async Task InitializeAsync() => _target = await PartnerServer.StartAsync(app =>
    {
        app.MapPut("/records/{id}", async (string id, HttpContext context) =>
        {
            _records[id] = await new StreamReader(context.Request.Body).ReadToEndAsync();
            _requests.Enqueue($"PUT {id}");
            return Results.NoContent();
        });
        app.MapDelete("/records/{id}", (string id) =>
        {
            _requests.Enqueue($"DELETE {id}");
            return _records.TryRemove(id, out _) ? Results.NoContent() : Results.NotFound();
        });
        app.MapGet("/by-page", (int page) => Json(Slice((page - 1) * PageSize)));
        app.MapGet("/by-offset", (int offset, int limit) => Json(Slice(offset, limit)));
        app.MapGet("/by-link", (HttpContext context, int? p) =>
        {
            var at = p ?? 0;
            if ((at + 1) * PageSize < _records.Count) context.Response.Headers["Link"] = $"</by-link?p={at + 1}>; rel=\"next\"";
            return Json(Slice(at * PageSize));
        });
        app.MapGet("/by-token", (string? token) =>
        {
            var at = string.IsNullOrEmpty(token) ? 0 : int.Parse(token[4..], System.Globalization.CultureInfo.InvariantCulture);
            var next = at + PageSize < _records.Count ? $"tok-{at + PageSize}" : null;
            return Results.Text($$"""{"data":{{JsonSerializer.Serialize(Slice(at))}},"next":{{JsonSerializer.Serialize(next)}}}""", "application/json");
        });
    });

    public async Task DisposeAsync() => await _target.DisposeAsync();

    private List<JsonElement> Slice(int from, int take = PageSize) =>
        [.. _records.OrderBy(r => r.Key, StringComparer.Ordinal).Skip(from).Take(take).Select(r => JsonDocument.Parse(r.Value).RootElement.Clone())];

    private static IResult Json(List<JsonElement> items) => Results.Text(JsonSerializer.Serialize(items), "application/json");

    private string Yaml(string list, bool deleteExtra) => $$"""
        storage: sqlite:lockstep.db
        systems:
          registry: { type: http, url: "{{_target.Url}}" }
        flows:
          permits:
            entity: permit
            to: registry
            map: (p) => ({ permitId: p.id, status: p.status })
            upsert: PUT /records/{key}
            delete: DELETE /records/{key}
            list: {{list}}
            listKey: permitId
            reconcile: { deleteExtra: {{(deleteExtra ? "true" : "false")}} }
        """;

    private async Task<TestEngine> StartSyncedAsync(string list, bool deleteExtra)
    {
        var engine = await TestEngine.StartAsync(Yaml(list, deleteExtra), _time);
        for (var i = 1; i <= 10; i++) await engine.PublishAsync(TestEngine.Permit($"P-{i:00}", 1));
        await Eventually.WaitAsync(() => _records.Count == 10, "ten records at the target", signal: engine.Committed);
        await engine.WaitForStateAsync("synced");
        return engine;
    }

    /// <summary>Drift behind Lockstep's back: one record gone, one edited, two the source never had.</summary>
    private void Corrupt()
    {
        _records.TryRemove("P-03", out _);
        _records["P-05"] = """{"permitId":"P-05","status":"revoked"}""";
        _records["X-1"] = """{"permitId":"X-1","status":"approved"}""";
        _records["X-2"] = """{"permitId":"X-2","status":"approved"}""";
        _requests.Clear();
    }

    private bool Holds(string id, string status) => _records.TryGetValue(id, out var body) && body.Contains($"\"status\":\"{status}\"", StringComparison.Ordinal);

    [Theory]
    [InlineData("GET /by-page?page={page}")]
    [InlineData("GET /by-offset?offset={offset}&limit=3")]
    [InlineData("GET /by-link")]
    [InlineData("GET /by-token?token={token}")]
    public async Task List_reconcile_repairs_drift_and_deletes_extras_with_exact_counts(string list)
    {
        await using var engine = await StartSyncedAsync(list, deleteExtra: true);
        Corrupt();

        var outcome = await engine.Engine.SyncAsync("permits", full: true, CancellationToken.None);
        await Eventually.WaitAsync(() => Holds("P-03", "approved") && Holds("P-05", "approved"), "missing and different repaired", signal: engine.Committed);

        var report = outcome!.Report!;
        Assert.Equal("checked 12, missing 1, different 1, extra 2, repaired 4", outcome.Outcome);
        Assert.Equal((12L, 1L, 1L, 2L, 4L, 0L), (report.Checked, report.Missing, report.Different, report.Extra, report.Repaired, report.Failed));
        Assert.Equal(["permit/P-03"], report.Samples["missing"]);
        Assert.Equal(["permit/P-05"], report.Samples["different"]);
        Assert.Equal(["permit/X-1", "permit/X-2"], report.Samples["extra"].Order(StringComparer.Ordinal));
        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"P-{i:00}"), _records.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["DELETE X-1", "DELETE X-2", "PUT P-03", "PUT P-05"], _requests.Order(StringComparer.Ordinal));
        var last = (await engine.StatusAsync()).Flows["permits"].LastReconcile!;
        Assert.Equal((1L, 1L, 2L, 4L), (last.Missing, last.Different, last.Extra, last.Repaired));
    }

    [Fact]
    public async Task Without_delete_extra_extras_are_only_reported()
    {
        await using var engine = await StartSyncedAsync("GET /by-page?page={page}", deleteExtra: false);
        Corrupt();

        var report = (await engine.Engine.SyncAsync("permits", full: true, CancellationToken.None))!.Report!;
        await Eventually.WaitAsync(() => Holds("P-03", "approved") && Holds("P-05", "approved"), "missing and different repaired", signal: engine.Committed);
        var again = (await engine.Engine.SyncAsync("permits", full: true, CancellationToken.None))!.Report!;

        Assert.Equal((12L, 1L, 1L, 2L, 2L), (report.Checked, report.Missing, report.Different, report.Extra, report.Repaired));
        Assert.True(_records.ContainsKey("X-1") && _records.ContainsKey("X-2"));
        Assert.DoesNotContain(_requests, r => r.StartsWith("DELETE", StringComparison.Ordinal));
        Assert.Equal((12L, 0L, 0L, 2L, 0L), (again.Checked, again.Missing, again.Different, again.Extra, again.Repaired));
    }

    [Fact]
    public async Task A_list_cut_short_by_max_pages_judges_nothing_missing()
    {
        var yaml = Yaml("GET /by-page?page={page}", deleteExtra: false).Replace("reconcile: { deleteExtra: false }", "reconcile: { deleteExtra: false, maxPages: 2 }");
        await using var engine = await TestEngine.StartAsync(yaml, _time);
        for (var i = 1; i <= 10; i++) await engine.PublishAsync(TestEngine.Permit($"P-{i:00}", 1));
        await Eventually.WaitAsync(() => _records.Count == 10, "ten records at the target", signal: engine.Committed);
        await engine.WaitForStateAsync("synced");
        _records.TryRemove("P-09", out _);

        var report = (await engine.Engine.SyncAsync("permits", full: true, CancellationToken.None))!.Report!;

        Assert.Equal((6L, 0L, 1L), (report.Checked, report.Missing, report.Failed));
        Assert.Contains("maxPages", report.Samples["failed"][0]);
    }
}
