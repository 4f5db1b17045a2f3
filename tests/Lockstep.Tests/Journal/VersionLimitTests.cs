using Lockstep.Events;
using Lockstep.Journal;
using Lockstep.Records;
using Lockstep.Routing;
using Lockstep.Storage.Sqlite;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Journal;

/// <summary>
/// Versions the journal assigns: a record already stored at the largest version (from before the API capped
/// versions) never gets a negative next one, and derived ids tell apart parts that hold ':'.
/// </summary>
public sealed class VersionLimitTests : IAsyncLifetime
{
    private const string Yaml = """
        storage: sqlite:journal.db
        systems:
          registry: { type: http, url: "http://127.0.0.1:1" }
        flows:
          to-registry: { on: [permitApproved], to: registry, upsert: "PUT /r/{key}" }
        """;

    private readonly TempFolder _folder = new();
    private IJournal _journal = null!;

    public async Task InitializeAsync()
    {
        var config = TestEngine.Load(Yaml, _folder.Path);
        _journal = new SqliteJournalProvider().Create(config, Clock.Fake());
        await _journal.OpenAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _journal.DisposeAsync();
        _folder.Dispose();
    }

    private static Event Unversioned(string entity, string key) => new("", "permitApproved", entity, key, null, RecordOp.Upsert, """{"a":1}""");

    [Fact]
    public async Task An_event_without_a_version_after_the_largest_one_is_not_applied_and_never_negative()
    {
        var first = await _journal.Intake.AppendAsync([Unversioned("permit", "P-1") with { Version = long.MaxValue }], CancellationToken.None);
        var next = await _journal.Intake.AppendAsync([Unversioned("permit", "P-1")], CancellationToken.None);

        var claimed = await _journal.Queue.ClaimDueAsync([new ClaimQuota("registry", 10)], DateTimeOffset.UtcNow.AddDays(1), CancellationToken.None);
        var history = await _journal.Queries.RecordHistoryAsync("permit", "P-1", CancellationToken.None);

        Assert.Equal([AppendStatus.Accepted], first);
        // The assigned version saturates at the largest one: its derived id is that version's, so it is a duplicate.
        Assert.Equal([AppendStatus.Duplicate], next);
        Assert.Equal(long.MaxValue, Assert.Single(claimed).Version);
        Assert.All(history.Versions, v => Assert.True(v.Version > 0, $"version {v.Version} stored"));
    }

    [Fact]
    public async Task Derived_ids_of_parts_holding_colons_differ()
    {
        var statuses = await _journal.Intake.AppendAsync([Unversioned("a:b", "c"), Unversioned("a", "b:c"), Unversioned("permit", "P-1")], CancellationToken.None);

        var claimed = await _journal.Queue.ClaimDueAsync([new ClaimQuota("registry", 10)], DateTimeOffset.UtcNow.AddDays(1), CancellationToken.None);

        Assert.Equal([AppendStatus.Accepted, AppendStatus.Accepted, AppendStatus.Accepted], statuses);
        Assert.Equal(["a%3Ab:c:1", "a:b%3Ac:1", "permit:P-1:1"], claimed.Select(d => d.EventId).Order(StringComparer.Ordinal));
    }
}
