using System.Collections.Concurrent;
using System.Data.Common;

namespace Lockstep.Connectors.Sql;

/// <summary>
/// What differs between PostgreSQL and SQLite: opening a pooled connection, reading a table's columns from the catalog,
/// typed parameters, the few SQL spellings that differ, and which failures are worth retrying. Table catalogs are cached
/// here, once per table, so no record pays for a catalog query.
/// </summary>
internal abstract class SqlDatabase : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, SqlTable> _tables = new(StringComparer.Ordinal);

    public abstract SqlFamily Family { get; }

    /// <summary>The most parameters one statement may carry (PostgreSQL's wire protocol: 65535; SQLite's default limit: 32766).</summary>
    public abstract int MaxParameters { get; }

    public abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>The table's columns (cached), or null when the table does not exist.</summary>
    public async ValueTask<SqlTable?> TableAsync(DbConnection connection, string table, CancellationToken cancellationToken)
    {
        if (_tables.TryGetValue(table, out var cached)) return cached;
        var columns = await ReadColumnsAsync(connection, table, cancellationToken).ConfigureAwait(false);
        if (columns.Count == 0) return null;
        var loaded = new SqlTable(table, QuoteTable(table), columns);
        _tables[table] = loaded;
        return loaded;
    }

    /// <summary>Drops a cached catalog, after an error that says the table changed (a column or the table itself gone).</summary>
    public void Forget(string table) => _tables.TryRemove(table, out _);

    protected abstract Task<Dictionary<string, SqlColumn>> ReadColumnsAsync(DbConnection connection, string table, CancellationToken cancellationToken);

    public abstract DbParameter Parameter(string name, SqlColumn column, object? value);

    /// <summary><c>INSERT INTO t</c>, and how the existing row is named in <c>DO UPDATE … WHERE</c>.</summary>
    public abstract (string Insert, string Existing) InsertInto(SqlTable table);

    /// <summary>
    /// What follows the <c>VALUES</c> of an upsert: update the non-key columns only when the row holds an older version
    /// (or the same one, for a repair). PostgreSQL and SQLite: <c>ON CONFLICT … DO UPDATE … WHERE</c>.
    /// </summary>
    public virtual string OnConflict(SqlTable table, SqlFlowOptions options, IReadOnlyList<string> names, bool repair)
    {
        var existing = InsertInto(table).Existing;
        var v = Quote(options.VersionColumn);
        var updates = names.Where(n => !options.Key.Contains(n)).Select(n => $"{Quote(n)} = excluded.{Quote(n)}");
        return $" ON CONFLICT ({string.Join(", ", options.Key.Select(Quote))}) DO UPDATE SET {string.Join(", ", updates)} "
            + $"WHERE {existing}.{v} IS NULL OR {existing}.{v} {(repair ? "<=" : "<")} excluded.{v}";
    }

    /// <summary>The expression that reads a column back as JSON-friendly text where needed (geometry as GeoJSON).</summary>
    public abstract string Select(SqlColumn column, string qualifier);

    /// <summary>The kind of a result column from the type name the driver reports, for polled queries.</summary>
    public abstract ColumnKind KindOf(string dataTypeName);

    /// <summary>Expected failures as values: transient or permanent, with a message fit for attempts; null if not the database's.</summary>
    public abstract ConnectorResult? Classify(Exception exception);

    /// <summary>Whether this login may insert, update (and delete) rows of the table, found without writing one; null when it may, else why not.</summary>
    public abstract Task<string?> CheckWriteAsync(DbConnection connection, SqlTable table, bool delete, CancellationToken cancellationToken);

    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public static string QuoteTable(string table) => string.Join('.', table.Split('.').Select(Quote));

    public abstract ValueTask DisposeAsync();
}
