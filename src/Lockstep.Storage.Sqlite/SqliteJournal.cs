using Lockstep.Intake;
using Lockstep.Journal;
using Lockstep.Storage.Sqlite.Schema;
using Microsoft.Data.Sqlite;

namespace Lockstep.Storage.Sqlite;

/// <summary>
/// The embedded journal: one SQLite file in WAL mode with synchronous=FULL, so a commit survives a crash or power loss.
/// All writes go through one connection, one batch per transaction (group commit); reads use pooled connections.
/// </summary>
public sealed partial class SqliteJournal : IJournal, IIntakeStore, IDeliveryQueue, IDeadLetters, IJournalQueries
{
    private readonly string _path;
    private readonly string _connectionString;
    private readonly AppendRules _rules;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, string> _flowSystems;
    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
    private long _epoch;
    private SqliteConnection? _write;
    private Commands? _commands;
    private int _disposed;

    public SqliteJournal(string path, AppendRules rules, TimeProvider time)
    {
        _path = path;
        _rules = rules;
        _time = time;
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();
        _flowSystems = rules.Router.Flows.ToDictionary(f => f.Name, f => f.System, StringComparer.Ordinal);
    }

    /// <summary>Fields stored only encrypted (<c>entities.NAME.sensitive</c>); sealed on append, opened when read for delivery.</summary>
    private Encryption.SensitiveFields? Sensitive => _rules.Sensitive;

    public int SchemaVersion => Migrations.Steps.Count;

    /// <summary>The schema version this build creates and reads (<c>lockstep journal copy</c> reads only this one).</summary>
    public static int LatestSchemaVersion => Migrations.Steps.Count;

    // One SQLite file serves every role; each role's members live in their own part of this class.
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
        if (Path.GetDirectoryName(Path.GetFullPath(_path)) is { } folder) Directory.CreateDirectory(folder);
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;", cancellationToken).ConfigureAwait(false);
        await MigrateAsync(connection, cancellationToken).ConfigureAwait(false);
        _write = connection;
        _commands = new Commands(connection, _flowSystems);
        _epoch = TakeLease(connection);
        await RecoverAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task MigrateAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)", cancellationToken).ConfigureAwait(false);
        using var read = connection.CreateCommand();
        read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
        var current = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        if (current > Migrations.Steps.Count)
            throw new InvalidOperationException($"the journal has schema version {current}, newer than this Lockstep knows ({Migrations.Steps.Count}); upgrade Lockstep");
        for (var step = current; step < Migrations.Steps.Count; step++)
        {
            using var transaction = connection.BeginTransaction();
            using (var migrate = connection.CreateCommand())
            {
                migrate.Transaction = transaction;
                migrate.CommandText = Migrations.Steps[step] + $"; DELETE FROM schema_version; INSERT INTO schema_version VALUES ({step + 1});";
                await migrate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The name of the lease that owns the journal's deliveries (one SQLite journal is one partition).</summary>
    public const string Lease = "journal";

    /// <summary>
    /// Takes the journal's lease with the next epoch. An open always takes it: one process works a SQLite journal, and
    /// one that opens it presumes the last owner gone; should that owner still run, its next claim or commit is refused.
    /// </summary>
    private long TakeLease(SqliteConnection connection)
    {
        using var take = connection.CreateCommand();
        take.CommandText = """
            INSERT INTO leases(name, owner, epoch, acquired_at) VALUES ($name, $owner, 1, $now)
            ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, epoch = epoch + 1, acquired_at = excluded.acquired_at
            RETURNING epoch
            """;
        take.Parameters.AddWithValue("$name", Lease);
        take.Parameters.AddWithValue("$owner", _owner);
        take.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        return (long)take.ExecuteScalar()!;
    }

    /// <summary>Inside a write transaction: throws unless this process still holds the lease it took at open.</summary>
    private void CheckLease(Commands commands)
    {
        using var reader = commands.ReadLease.With(Lease).ExecuteReader();
        var (current, owner) = reader.Read() ? (reader.GetInt64(0), reader.GetString(1)) : (0L, "nobody");
        if (current != _epoch) throw new JournalFencedException(Lease, _epoch, current, owner);
    }

    /// <summary>Deliveries claimed under an earlier epoch (a process that died) are due again now; flows follow their configured system.</summary>
    private async Task RecoverAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var transaction = _write!.BeginTransaction();
            using var command = _write.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "UPDATE deliveries SET state = 0, due_at = MIN(due_at, $now) WHERE state = 1 AND claim_epoch < $epoch";
            command.Parameters.AddWithValue("$now", now);
            command.Parameters.AddWithValue("$epoch", _epoch);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            command.Parameters.Clear();
            command.CommandText = "UPDATE deliveries SET system = $system WHERE flow = $flow AND system <> $system";
            var flow = command.Parameters.Add("$flow", SqliteType.Text);
            var system = command.Parameters.Add("$system", SqliteType.Text);
            foreach (var (name, target) in _flowSystems)
            {
                flow.Value = name;
                system.Value = target;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <param name="fenced">A claim, an outcome or a cursor: committed only while this process holds the lease.</param>
    private async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Commands, T> work, CancellationToken cancellationToken, bool durable = true, bool fenced = false)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = _write ?? throw new InvalidOperationException("the journal is not open");
            if (!durable)
            {
                _commands!.Enlist(null);
                _commands.SyncOff.ExecuteNonQuery();
            }
            try
            {
                using var transaction = connection.BeginTransaction();
                _commands!.Enlist(transaction);
                if (fenced) CheckLease(_commands);
                var result = work(connection, transaction, _commands);
                // Checkpoint: nothing above is visible or durable until this commit returns (WAL + synchronous=FULL fsyncs here).
                transaction.Commit();
                return result;
            }
            finally
            {
                if (!durable)
                {
                    _commands!.Enlist(null);
                    _commands.SyncFull.ExecuteNonQuery();
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<SqliteConnection> ReadConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        // The engine and the container may both dispose the journal.
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _commands?.Dispose();
            if (_write is not null) await _write.DisposeAsync().ConfigureAwait(false);
            _write = null;
        }
        finally
        {
            _gate.Release();
        }
        _gate.Dispose();
    }
}
