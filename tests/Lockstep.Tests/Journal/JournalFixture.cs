using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Events;
using Lockstep.Journal;
using Lockstep.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Lockstep.Tests.Journal;

/// <summary>How a contract suite gets a journal of one backend: each backend's tests name one of these.</summary>
public interface IJournalBackend
{
    /// <summary>The <c>storage:</c> line of the suite's config, for a journal kept in <paramref name="folder"/>.</summary>
    string Storage(string folder);

    IJournal Create(LockstepConfig config, TimeProvider time);
}

/// <summary>The embedded SQLite journal.</summary>
public sealed class SqliteBackend : IJournalBackend
{
    public string Storage(string folder) => "sqlite:journal.db";

    public IJournal Create(LockstepConfig config, TimeProvider time) => new Storage.Sqlite.SqliteJournalProvider().Create(config, time);
}

/// <summary>
/// The PostgreSQL journal on the server of tests/services.sh, each test in a schema of its own (created by the journal's
/// migrations on first open), so tests are isolated and may run in parallel.
/// </summary>
public sealed class PostgresBackend : IJournalBackend
{
    private readonly string _schema = "t_" + Guid.NewGuid().ToString("N");

    public string Storage(string folder) => $"postgres:{TestServers.Postgres};Schema={_schema}";

    public IJournal Create(LockstepConfig config, TimeProvider time) => new Storage.Postgres.PostgresJournalProvider().Create(config, time);
}

/// <summary>
/// A journal of one backend, opened on a fresh folder with the suite's flows, on a fake clock. The role contracts
/// (<see cref="IntakeContract{TBackend}"/>, <see cref="DeliveryQueueContract{TBackend}"/>, ...) inherit it; a backend
/// passes them all by declaring one class per role.
/// </summary>
public abstract class JournalFixture<TBackend> : IAsyncLifetime where TBackend : IJournalBackend, new()
{
    private const string Flows = """
        systems:
          registry: { type: http, url: "http://127.0.0.1:1" }
          warehouse: { type: http, url: "http://127.0.0.1:2" }
        flows:
          to-registry: { on: [permitApproved, permitRevoked], to: registry, upsert: "PUT /r/{key}" }
          to-warehouse: { entity: permit, to: warehouse, upsert: "PUT /w/{key}" }
          completions: { on: [syncCompleted, syncFailed], to: warehouse, upsert: "PUT /c/{key}" }
        """;

    private readonly TempFolder _folder = new();
    private readonly TBackend _backend = new();

    protected IJournal Journal { get; private set; } = null!;

    protected FakeTimeProvider Time { get; } = Clock.Fake();

    protected LockstepConfig Config { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Config = TestEngine.Load($"storage: {_backend.Storage(_folder.Path)}\n{Flows}", _folder.Path);
        Journal = await OpenAsync();
    }

    public async Task DisposeAsync()
    {
        await Journal.DisposeAsync();
        _folder.Dispose();
    }

    private async Task<IJournal> OpenAsync()
    {
        var journal = _backend.Create(Config, Time);
        await journal.OpenAsync(CancellationToken.None);
        return journal;
    }

    /// <summary>The same journal opened by a second process (a second node, or a restart while the first still runs).</summary>
    protected Task<IJournal> OpenAnotherAsync() => OpenAsync();

    /// <summary>Reopens the journal under another configuration (<c>systems:</c> and <c>flows:</c>), as a reload or an upgrade would.</summary>
    protected async Task ReopenWithAsync(string flowsYaml)
    {
        await Journal.DisposeAsync();
        Journal = _backend.Create(TestEngine.Load($"storage: {_backend.Storage(_folder.Path)}\n{flowsYaml}", _folder.Path), Time);
        await Journal.OpenAsync(CancellationToken.None);
    }

    protected async Task ReopenAsync()
    {
        await Journal.DisposeAsync();
        Journal = await OpenAsync();
    }

    protected Task<IReadOnlyList<Delivery>> ClaimAsync(string system = "registry", int max = 100) =>
        Journal.Queue.ClaimDueAsync([new ClaimQuota(system, max)], Time.GetUtcNow(), CancellationToken.None).AsTask();

    protected Task CompleteAsync(Delivery delivery, CompletionKind kind, DateTimeOffset? dueAt = null, string? error = null) =>
        Journal.Queue.CompleteAsync([new DeliveryCompletion(delivery, kind, Time.GetUtcNow(), TimeSpan.FromMilliseconds(3), kind == CompletionKind.Delivered ? 200 : 503, error, dueAt ?? Time.GetUtcNow())], CancellationToken.None).AsTask();

    protected Task<IReadOnlyList<AppendStatus>> AppendAsync(params Event[] events) => Journal.Intake.AppendAsync(events, CancellationToken.None).AsTask();
}
