using Lockstep.Intake;
using Lockstep.Journal;
using Lockstep.Storage.Postgres.Schema;
using Npgsql;

namespace Lockstep.Storage.Postgres;

/// <summary>
/// The journal in PostgreSQL: tables in their own schema, one batch per transaction (group commit: a publish is
/// acknowledged once its transaction committed), every batch written with multi-row statements over arrays. Writes of
/// this process are serialized by one gate, as on SQLite; nothing relies on session state across transactions.
/// One process works a journal at a time: every open takes the journal lease with the next epoch, and claims, outcomes
/// and cursor commits are fenced by it.
/// </summary>
public sealed partial class PostgresJournal : IJournal, IIntakeStore, IDeliveryQueue, IDeadLetters, IJournalQueries
{
    /// <summary>The name of the lease that owns the journal's deliveries (one journal is one partition, for now).</summary>
    public const string Lease = "journal";

    private readonly PostgresLocation _location;
    private readonly AppendRules _rules;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, string> _flowSystems;
    private readonly Dictionary<string, string[]> _systemFlows;
    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
    private readonly string _schema;
    private readonly CancellationTokenSource _stopping = new();
    private NpgsqlDataSource? _source;
    private long _epoch;
    private int _disposed;

    public PostgresJournal(PostgresLocation location, AppendRules rules, TimeProvider time)
    {
        _location = location;
        _rules = rules;
        _time = time;
        _schema = "\"" + location.Schema + "\"";
        _flowSystems = rules.Router.Flows.ToDictionary(f => f.Name, f => f.System, StringComparer.Ordinal);
        _systemFlows = _flowSystems.GroupBy(f => f.Value, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(f => f.Key).ToArray(), StringComparer.Ordinal);
        Channel = "lockstep_work:" + location.Schema;
    }

    /// <summary>The NOTIFY channel a commit that added due work signals.</summary>
    public string Channel { get; }

    public int SchemaVersion => Migrations.Steps.Count;

    private Encryption.SensitiveFields? Sensitive => _rules.Sensitive;

    public IIntakeStore Intake => this;

    public IDeliveryQueue Queue => this;

    public IDeadLetters DeadLetters => this;

    public Sources.ICursorStore Cursors => this;

    public Conflicts.ISyncStore Sync => this;

    public Reconciliation.IReconcileStore Reconcile => this;

    public IRetentionStore Retention => this;

    public IJournalQueries Queries => this;

    public Control.IControlStore Control => this;

    public IIdentityStore Identities => this;

    public Backfills.IBackfillStore Backfills => this;

    public async ValueTask OpenAsync(CancellationToken cancellationToken)
    {
        _source = NpgsqlDataSource.Create(_location.ConnectionString);
        await MigrateAsync(cancellationToken).ConfigureAwait(false);
        _epoch = await TakeLeaseAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RecoverAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (JournalFencedException)
        {
            // Another process took the lease right after this one (nodes starting together): it recovers the in-flight
            // rows itself, and this one's claims and commits are refused from now on.
        }
        StartListening();
    }

    /// <summary>The schema-qualified SQL: <c>@.</c> names the journal's schema.</summary>
    private string Sql(string sql) => sql.Replace("@.", _schema + ".", StringComparison.Ordinal);

    private Task MigrateAsync(CancellationToken cancellationToken) => MigrateAsync(_source!, _location.Schema, cancellationToken);

    /// <summary>Creates or upgrades the journal schema of a location, as <c>lockstep run</c> does at start (for <c>lockstep journal copy</c>).</summary>
    public static async Task CreateSchemaAsync(PostgresLocation location, CancellationToken cancellationToken)
    {
        await using var source = NpgsqlDataSource.Create(location.ConnectionString);
        await MigrateAsync(source, location.Schema, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies the missing steps in one transaction holding the migrations table locked: a second node starting at the same
    /// time waits at the lock and then finds every step applied. The advisory lock only spares it the wasted work of
    /// racing to create the schema; the table lock is what makes it safe.
    /// </summary>
    private static async Task MigrateAsync(NpgsqlDataSource source, string schemaName, CancellationToken cancellationToken)
    {
        var schema = "\"" + schemaName + "\"";
        string Sql(string sql) => sql.Replace("@.", schema + ".", StringComparison.Ordinal);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (var prepare = new NpgsqlCommand(Sql($"""
                    SELECT pg_advisory_xact_lock(hashtext('lockstep migrations ' || @schema));
                    CREATE SCHEMA IF NOT EXISTS {schema};
                    CREATE TABLE IF NOT EXISTS @.migrations(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
                    LOCK TABLE @.migrations IN EXCLUSIVE MODE;
                    """), connection, transaction))
                {
                    prepare.Parameters.AddWithValue("schema", schemaName);
                    await prepare.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                int current;
                await using (var read = new NpgsqlCommand(Sql("SELECT COALESCE(MAX(version), 0) FROM @.migrations"), connection, transaction))
                    current = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
                if (current > Migrations.Steps.Count)
                    throw new InvalidOperationException($"the journal has schema version {current}, newer than this Lockstep knows ({Migrations.Steps.Count}); upgrade Lockstep");
                for (var step = current; step < Migrations.Steps.Count; step++)
                {
                    await using var migrate = new NpgsqlCommand(Sql(Migrations.Steps[step]) + $"; INSERT INTO {schema}.migrations(version) VALUES ({step + 1})", connection, transaction);
                    await migrate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (PostgresException e) when (attempt < 5 && e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateSchema or PostgresErrorCodes.DuplicateTable)
            {
                // Two nodes created the schema or the migrations table at the same instant (IF NOT EXISTS is not atomic
                // in the catalog): the loser goes round again and finds it there.
            }
        }
    }

    /// <summary>
    /// Takes the journal's lease with the next epoch, stamped by the database's clock. An open always takes it: one process
    /// works a journal, and one that opens it presumes the last owner gone; should that owner still run, its next claim or
    /// commit is refused.
    /// </summary>
    private async Task<long> TakeLeaseAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _source!.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var take = new NpgsqlCommand(Sql("""
            INSERT INTO @.leases AS l(name, owner, epoch, acquired_at) VALUES (@name, @owner, 1, now())
            ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, epoch = l.epoch + 1, acquired_at = now()
            RETURNING epoch
            """), connection);
        take.Parameters.AddWithValue("name", Lease);
        take.Parameters.AddWithValue("owner", _owner);
        return (long)(await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>
    /// Inside a write transaction: throws unless this process still holds the lease it took at open. The row stays share-
    /// locked until the commit, so a takeover (an update of the row) waits for this commit or makes this check fail.
    /// </summary>
    private async Task CheckLeaseAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var read = new NpgsqlCommand(Sql("SELECT epoch, owner FROM @.leases WHERE name = @name FOR SHARE"), connection, transaction);
        read.Parameters.AddWithValue("name", Lease);
        await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var (current, owner) = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? (reader.GetInt64(0), reader.GetString(1)) : (0L, "nobody");
        if (current != _epoch) throw new JournalFencedException(Lease, _epoch, current, owner);
    }

    /// <summary>Deliveries claimed under an earlier epoch (a process that died) are due again now; flows follow their configured system.</summary>
    private async Task RecoverAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await WriteAsync(async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand(Sql("""
                UPDATE @.deliveries SET state = 0, due_at = LEAST(due_at, @now) WHERE state = 1 AND claim_epoch < @epoch;
                UPDATE @.deliveries d SET system = f.system FROM unnest(@flows, @systems) AS f(flow, system)
                WHERE d.flow = f.flow AND d.system <> f.system;
                """), connection, transaction);
            command.Parameters.AddWithValue("now", now);
            command.Parameters.AddWithValue("epoch", _epoch);
            command.Parameters.AddWithValue("flows", _flowSystems.Keys.ToArray());
            command.Parameters.AddWithValue("systems", _flowSystems.Values.ToArray());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }, cancellationToken, fenced: true).ConfigureAwait(false);
    }

    /// <param name="fenced">A claim, an outcome or a cursor: committed only while this process holds the lease.</param>
    private async Task<T> WriteAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken, bool fenced = false)
    {
        var source = _source ?? throw new InvalidOperationException("the journal is not open");
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var connection = await source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            if (fenced) await CheckLeaseAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            var result = await work(connection, transaction).ConfigureAwait(false);
            // Checkpoint: nothing above is visible or durable until this commit returns; a NOTIFY queued above goes out with it.
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<NpgsqlConnection> ReadConnectionAsync(CancellationToken cancellationToken) =>
        await (_source ?? throw new InvalidOperationException("the journal is not open")).OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    private NpgsqlCommand Command(string sql, NpgsqlConnection connection, NpgsqlTransaction? transaction = null) => new(Sql(sql), connection, transaction);

    public async ValueTask CheckWriteAsync(CancellationToken cancellationToken) =>
        await WriteAsync(async (connection, transaction) =>
        {
            // A durable commit that changes no data: the row is rewritten and the commit waits for its WAL flush.
            await using var command = Command("UPDATE @.leases SET owner = owner WHERE name = @name", connection, transaction);
            command.Parameters.AddWithValue("name", Lease);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);

    private static object Db(object? value) => value ?? DBNull.Value;

    public async ValueTask DisposeAsync()
    {
        // The engine and the container may both dispose the journal.
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_listener is { } listener)
        {
            try
            {
                await listener.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_source is not null) await _source.DisposeAsync().ConfigureAwait(false);
            _source = null;
        }
        finally
        {
            _gate.Release();
        }
        _gate.Dispose();
        _stopping.Dispose();
    }
}
