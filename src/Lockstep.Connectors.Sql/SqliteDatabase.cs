using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Lockstep.Connectors.Sql;

/// <summary>A SQLite file through Microsoft.Data.Sqlite's connection pool; busy and locked databases are retried.</summary>
internal sealed class SqliteDatabase(string path, TimeSpan timeout) : SqlDatabase
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWrite,
        Pooling = true,
        // Also how long a statement waits on a locked database before SQLITE_BUSY.
        DefaultTimeout = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds)),
    }.ToString();

    public override SqlFamily Family => SqlFamily.Sqlite;

    public override int MaxParameters => 32766;

    public override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // A write lock taken and given back at once: a read-only file, a read-only mount or a held lock says so here.
    public override async Task<string?> CheckWriteAsync(DbConnection connection, SqlTable table, bool delete, CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        await using var commandScope = command.ConfigureAwait(false);
        try
        {
            command.CommandText = "BEGIN IMMEDIATE";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            command.CommandText = "ROLLBACK";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (SqliteException e)
        {
            return $"the database cannot be written: {CheckStep.Describe(e)}";
        }
    }

    protected override async Task<Dictionary<string, SqlColumn>> ReadColumnsAsync(DbConnection connection, string table, CancellationToken cancellationToken)
    {
        var columns = new Dictionary<string, SqlColumn>(StringComparer.Ordinal);
        var dot = table.IndexOf('.', StringComparison.Ordinal);
        var command = connection.CreateCommand();
        await using var commandScope = command.ConfigureAwait(false);
        command.CommandText = dot < 0 ? "SELECT name, type FROM pragma_table_info(@table)" : "SELECT name, type FROM pragma_table_info(@table, @schema)";
        command.Parameters.Add(new SqliteParameter("@table", dot < 0 ? table : table[(dot + 1)..]));
        if (dot >= 0) command.Parameters.Add(new SqliteParameter("@schema", table[..dot]));
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetString(0);
            var type = reader.IsDBNull(1) ? "" : reader.GetString(1);
            columns[name] = new SqlColumn(name, KindOf(type), type);
        }
        return columns;
    }

    // SQLite's type affinity rules, plus BOOL and JSON declared types, which SQLite stores as integers and text.
    public override ColumnKind KindOf(string dataTypeName)
    {
        var type = dataTypeName.ToUpperInvariant();
        if (type.Contains("INT", StringComparison.Ordinal)) return ColumnKind.Integer;
        if (type.Contains("BOOL", StringComparison.Ordinal)) return ColumnKind.Boolean;
        if (type.Contains("JSON", StringComparison.Ordinal)) return ColumnKind.Json;
        if (type.Contains("REAL", StringComparison.Ordinal) || type.Contains("FLOA", StringComparison.Ordinal) || type.Contains("DOUB", StringComparison.Ordinal))
            return ColumnKind.Float;
        if (type.Contains("NUM", StringComparison.Ordinal) || type.Contains("DEC", StringComparison.Ordinal)) return ColumnKind.Numeric;
        return ColumnKind.Text;
    }

    public override DbParameter Parameter(string name, SqlColumn column, object? value) => new SqliteParameter(name, value ?? DBNull.Value);

    public override (string Insert, string Existing) InsertInto(SqlTable table)
    {
        var dot = table.Name.IndexOf('.', StringComparison.Ordinal);
        return ($"INSERT INTO {table.Quoted}", Quote(dot < 0 ? table.Name : table.Name[(dot + 1)..]));
    }

    public override string Select(SqlColumn column, string qualifier) => qualifier + Quote(column.Name);

    public override ConnectorResult? Classify(Exception exception)
    {
        if (exception is not SqliteException e) return exception is IOException ? ConnectorResult.Transient($"SQLite: {exception.Message}") : null;
        // Busy, locked, I/O, full disk, cannot open, protocol: the file is there but not usable right now.
        return (e.SqliteErrorCode & 0xFF) is 5 or 6 or 10 or 13 or 14 or 15
            ? ConnectorResult.Transient($"SQLite: {e.Message}")
            : ConnectorResult.Permanent($"SQLite: {e.Message}");
    }

    public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
