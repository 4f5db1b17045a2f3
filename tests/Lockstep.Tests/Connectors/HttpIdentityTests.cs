using System.Text.Json;
using Lockstep.Events;
using Lockstep.Records;
using Lockstep.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Connectors;

/// <summary>
/// Create-or-update against a CRM that assigns its own ids: the engine with a real SQLite journal, the CRM on real Kestrel;
/// time is fake (retries move by advancing it).
/// </summary>
public sealed class HttpIdentityTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = Clock.Fake();
    private CrmServer _crm = null!;

    public async Task InitializeAsync() => _crm = await CrmServer.StartAsync();

    public async Task DisposeAsync() => await _crm.DisposeAsync();

    private string Yaml(string extra = "") => $$"""
        storage: sqlite:lockstep.db
        systems:
          crm: { type: http, url: "{{_crm.Url}}", circuit: { minimumThroughput: 100 } }
        flows:
          contacts-to-crm:
            on: [contactChanged]
            to: crm
            map: (c, r) => ({ externalKey: r.key, email: c.email, name: c.name })
            lookup: GET /api/contacts?externalKey={key}
            lookupId: $.items[0].id
            create: POST /api/contacts
            createId: $.id
            update: PUT /api/contacts/{targetId}
            delete: DELETE /api/contacts/{targetId}
            retry: { maxAttempts: 10, initialDelay: 1s, maxDelay: 2s }
        {{extra}}
        """;

    internal static Event Contact(string key, long version, RecordOp op = RecordOp.Upsert) =>
        new($"contact:{key}:{version}", "contactChanged", "contact", key, version, op,
            op == RecordOp.Delete ? null : $$"""{"email":"{{key.ToLowerInvariant()}}@example.org","name":"{{key}} v{{version}}"}""");

    private Task<TestEngine> StartAsync(string? yaml = null) => TestEngine.StartAsync(yaml ?? Yaml(), _time);

    private Task SyncedAsync(TestEngine engine) =>
        Eventually.AdvanceUntilAsync(_time, TimeSpan.FromMilliseconds(500), async () => (await engine.StatusAsync()).State == "synced" && (await engine.StatusAsync()).Flows["contacts-to-crm"].Pending == 0, "synced", engine.Committed);

    [Fact]
    public async Task A_new_record_is_looked_up_created_then_updated_and_deleted_by_the_target_s_id()
    {
        await using var engine = await StartAsync();

        await engine.PublishAsync(Contact("K-1", 1));
        await SyncedAsync(engine);
        var id = Assert.Single(_crm.Contacts.Keys);
        var history = await engine.Engine.RecordHistoryAsync("contact", "K-1", CancellationToken.None);
        await engine.PublishAsync(Contact("K-1", 2));
        await SyncedAsync(engine);
        var updated = _crm.Contacts[id].ToJsonString();
        await engine.PublishAsync(Contact("K-1", 3, RecordOp.Delete));
        await SyncedAsync(engine);

        Assert.Equal(id, history.TargetIds["contacts-to-crm"]);
        Assert.Equal("""{"externalKey":"K-1","email":"k-1@example.org","name":"K-1 v2","id":"ID"}""".Replace("ID", id, StringComparison.Ordinal), updated);
        Assert.Empty(_crm.Contacts);
        Assert.Equal(["GET /api/contacts?externalKey=K-1", "POST /api/contacts", $"PUT /api/contacts/{id}", $"DELETE /api/contacts/{id}"], _crm.Requests);
        Assert.Empty((await engine.Engine.RecordHistoryAsync("contact", "K-1", CancellationToken.None)).TargetIds);
    }

    [Fact]
    public async Task A_create_whose_answer_was_lost_is_looked_up_and_never_sent_twice()
    {
        _crm.ResetNextCreates = 1;
        await using var engine = await StartAsync();

        await engine.PublishAsync(Contact("K-1", 1));
        await SyncedAsync(engine);

        var contact = Assert.Single(_crm.ByKey("K-1"));
        Assert.Equal(1, _crm.CutOffCreates);
        Assert.Equal(1, _crm.Creates);
        Assert.Equal(["GET /api/contacts?externalKey=K-1", "POST /api/contacts", "GET /api/contacts?externalKey=K-1", $"PUT /api/contacts/{contact["id"]}"], _crm.Requests);
    }

    [Fact]
    public async Task The_id_survives_a_restart_so_the_next_version_updates_without_a_lookup()
    {
        using var folder = new TempFolder();
        await using (var first = await TestEngine.StartAsync(Yaml(), _time, folder: folder))
        {
            await first.PublishAsync(Contact("K-1", 1));
            await SyncedAsync(first);
        }
        await using var second = await TestEngine.StartAsync(Yaml(), _time, folder: folder);

        await second.PublishAsync(Contact("K-1", 2));
        await SyncedAsync(second);

        var id = Assert.Single(_crm.Contacts.Keys);
        Assert.Equal(["GET /api/contacts?externalKey=K-1", "POST /api/contacts", $"PUT /api/contacts/{id}"], _crm.Requests);
        Assert.Equal("K-1 v2", (string?)_crm.Contacts[id]["name"]);
    }

    [Fact]
    public async Task A_delete_with_no_known_id_looks_up_first_and_not_found_is_done()
    {
        _crm.Contacts["c-7"] = new System.Text.Json.Nodes.JsonObject { ["id"] = "c-7", ["externalKey"] = "K-2", ["name"] = "made elsewhere" };
        await using var engine = await StartAsync();

        await engine.PublishAsync(Contact("K-1", 1, RecordOp.Delete), Contact("K-2", 1, RecordOp.Delete));
        await SyncedAsync(engine);

        Assert.Empty(_crm.Contacts);
        Assert.Equal(
            ["DELETE /api/contacts/c-7", "GET /api/contacts?externalKey=K-1", "GET /api/contacts?externalKey=K-2"],
            _crm.Requests.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_id_the_target_no_longer_has_is_forgotten_and_the_record_created_again()
    {
        await using var engine = await StartAsync();
        await engine.PublishAsync(Contact("K-1", 1));
        await SyncedAsync(engine);
        var old = Assert.Single(_crm.Contacts.Keys);
        _crm.Contacts.Clear();

        await engine.PublishAsync(Contact("K-1", 2));
        await SyncedAsync(engine);

        var contact = Assert.Single(_crm.ByKey("K-1"));
        Assert.NotEqual(old, (string?)contact["id"]);
        Assert.Equal("K-1 v2", (string?)contact["name"]);
        Assert.Equal((string?)contact["id"], (await engine.Engine.RecordHistoryAsync("contact", "K-1", CancellationToken.None)).TargetIds["contacts-to-crm"]);
    }

    [Fact]
    public async Task Reconciliation_reads_by_the_target_s_id_and_repairs_drift()
    {
        var yaml = Yaml().Replace("    retry: { maxAttempts: 10, initialDelay: 1s, maxDelay: 2s }",
            "    retry: { maxAttempts: 10, initialDelay: 1s, maxDelay: 2s }\n    get: GET /api/contacts/{targetId}\n    reconcile: { cron: \"0 3 * * *\" }", StringComparison.Ordinal);
        await using var engine = await StartAsync(yaml);
        await engine.PublishAsync(Contact("K-1", 1), Contact("K-2", 1));
        await SyncedAsync(engine);
        var k1 = (string)_crm.ByKey("K-1")[0]["id"]!;
        _crm.Contacts[k1]["name"] = "changed by hand";
        _crm.Requests.Clear();

        var outcome = await engine.Engine.SyncAsync("contacts-to-crm", full: true, CancellationToken.None);
        await SyncedAsync(engine);

        Assert.Equal((2, 1), (outcome!.Report!.Checked, outcome.Report.Different));
        Assert.Contains($"GET /api/contacts/{k1}", _crm.Requests);
        Assert.DoesNotContain(_crm.Requests, r => r.StartsWith("GET /api/contacts?", StringComparison.Ordinal));
        Assert.Equal("K-1 v1", (string?)_crm.Contacts[k1]["name"]);
        Assert.Equal(2, _crm.Contacts.Count);
    }
}
