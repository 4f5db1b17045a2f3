using System.Data.Common;
using MySqlConnector;

namespace Lockstep.Connectors.Sql;

/// <summary>
/// MariaDB and MySQL through one pooled <see cref="MySqlDataSource"/> per system. Every session runs with
/// <c>ANSI_QUOTES</c> (so identifiers are double-quoted as in the other databases) and <c>time_zone = '+00:00'</c> (so
/// <c>TIMESTAMP</c> columns hold UTC instants). Upserts are <c>INSERT … ON DUPLICATE KEY UPDATE</c> with every
/// assignment guarded by the version, the version assigned last.
/// </summary>
internal sealed class MySqlDatabase : SqlDatabase
{
    // MariaDB stores JSON as LONGTEXT with a json_valid() check; MySQL has a real JSON type.
    private const string CatalogQuery = """
        SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE,
          EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
                  AND k.CHECK_CLAUSE IN (CONCAT('json_valid(`', c.COLUMN_NAME, '`)'), CONCAT('json_valid("', c.COLUMN_NAME, '")'))),
          c.IS_NULLABLE
        FROM information_schema.COLUMNS c
        WHERE c.TABLE_SCHEMA = COALESCE(@schema, DATABASE()) AND c.TABLE_NAME = @table
        ORDER BY c.ORDINAL_POSITION
        """;

    private const string MySqlCatalogQuery = """
        SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, 0, c.IS_NULLABLE
        FROM information_schema.COLUMNS c
        WHERE c.TABLE_SCHEMA = COALESCE(@schema, DATABASE()) AND c.TABLE_NAME = @table
        ORDER BY c.ORDINAL_POSITION
        """;

    private readonly MySqlDataSource _source;

    // The NOT NULL columns of each table read, for the upsert's guard on the key columns.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, HashSet<string>> _notNull = new(StringComparer.Ordinal);

    public MySqlDatabase(string connectionString, TimeSpan timeout)
    {
        var builder = new MySqlDataSourceBuilder(connectionString);
        var settings = builder.ConnectionStringBuilder;
        if (!connectionString.Contains("Command Timeout", StringComparison.OrdinalIgnoreCase) && !connectionString.Contains("CommandTimeout", StringComparison.OrdinalIgnoreCase)
            && !connectionString.Contains("DefaultCommandTimeout", StringComparison.OrdinalIgnoreCase))
            settings.DefaultCommandTimeout = (uint)Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
        // DATETIME and TIMESTAMP come back as written; the column kind says which one is an instant.
        settings.DateTimeKind = MySqlDateTimeKind.Unspecified;
        builder.UseConnectionOpenedCallback(async (opened, cancellationToken) =>
        {
            // A new or reset session: set its mode again (a reused session keeps it).
            if (opened.Conditions == MySqlConnectionOpenedConditions.None) return;
            var command = opened.Connection.CreateCommand();
            await using var scope = command.ConfigureAwait(false);
            command.CommandText = "SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES'), time_zone = '+00:00'";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        });
        _source = builder.Build();
    }

    public override SqlFamily Family => SqlFamily.MySql;

    // The server takes up to 65535 placeholders in a prepared statement; statements also have to fit max_allowed_packet.
    public override int MaxParameters => 20_000;

    public override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// MySQL and MariaDB check the privileges of an <c>EXPLAIN</c>ed statement as if it ran, and run nothing: each write
    /// is explained on no rows, and "command denied" (1142) names what this login lacks.
    /// </summary>
    public override async Task<string?> CheckWriteAsync(DbConnection connection, SqlTable table, bool delete, CancellationToken cancellationToken)
    {
        var checks = new List<(string Privilege, string Sql)>
        {
            ("INSERT", $"EXPLAIN INSERT INTO {table.Quoted} SELECT * FROM {table.Quoted} WHERE 1 = 0"),
            ("UPDATE", $"EXPLAIN UPDATE {table.Quoted} SET \"{Column(table)}\" = \"{Column(table)}\" WHERE 1 = 0"),
        };
        if (delete) checks.Add(("DELETE", $"EXPLAIN DELETE FROM {table.Quoted} WHERE 1 = 0"));
        var missing = new List<string>();
        foreach (var (privilege, sql) in checks)
        {
            var command = connection.CreateCommand();
            await using var scope = command.ConfigureAwait(false);
            command.CommandText = sql;
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.TableAccessDenied)
            {
                missing.Add(privilege);
            }
        }
        return missing.Count == 0 ? null : $"this login lacks {string.Join(", ", missing)} on {table.Name}";

        static string Column(SqlTable table) => table.Columns.Keys.First().Replace("\"", "\"\"", StringComparison.Ordinal);
    }

    protected override async Task<Dictionary<string, SqlColumn>> ReadColumnsAsync(DbConnection connection, string table, CancellationToken cancellationToken)
    {
        var columns = new Dictionary<string, SqlColumn>(StringComparer.Ordinal);
        var dot = table.IndexOf('.', StringComparison.Ordinal);
        var command = connection.CreateCommand();
        await using var commandScope = command.ConfigureAwait(false);
        var mariaDb = ((MySqlConnection)connection).ServerVersion.Contains("MariaDB", StringComparison.OrdinalIgnoreCase);
        command.CommandText = mariaDb ? CatalogQuery : MySqlCatalogQuery;
        command.Parameters.Add(new MySqlParameter("@table", dot < 0 ? table : table[(dot + 1)..]));
        command.Parameters.Add(new MySqlParameter("@schema", dot < 0 ? DBNull.Value : table[..dot]));
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        var notNull = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetString(0);
            var type = reader.GetString(2);
            if (reader.GetString(4) == "NO") notNull.Add(name);
            var json = Convert.ToInt64(reader.GetValue(3), System.Globalization.CultureInfo.InvariantCulture) != 0;
            columns[name] = new SqlColumn(name, json ? ColumnKind.Json : KindOf(type), type);
        }
        _notNull[table] = notNull;
        return columns;
    }

    /// <summary>From a column type (<c>tinyint(1)</c>, <c>varchar(20)</c>) or a driver's type name (<c>VARCHAR</c>, <c>BIGINT</c>).</summary>
    public override ColumnKind KindOf(string dataTypeName)
    {
        var type = dataTypeName.ToLowerInvariant();
        if (type is "tinyint(1)" or "bool" or "boolean") return ColumnKind.Boolean;
        var bare = type.Split('(', ' ')[0];
        return bare switch
        {
            "tinyint" or "smallint" or "mediumint" or "int" or "integer" or "bigint" => ColumnKind.Integer,
            "decimal" or "numeric" or "newdecimal" => ColumnKind.Numeric,
            "float" or "double" or "real" => ColumnKind.Float,
            "timestamp" => ColumnKind.Timestamp,
            "datetime" => ColumnKind.LocalTimestamp,
            "date" => ColumnKind.Date,
            "json" => ColumnKind.Json,
            "geometry" or "point" or "linestring" or "polygon" or "multipoint" or "multilinestring" or "multipolygon" or "geometrycollection" => ColumnKind.Geometry,
            "char" or "varchar" or "tinytext" or "text" or "mediumtext" or "longtext" or "enum" or "set" => ColumnKind.Text,
            _ => ColumnKind.Other,
        };
    }

    public override DbParameter Parameter(string name, SqlColumn column, object? value)
    {
        var parameter = new MySqlParameter { ParameterName = name, Value = value ?? DBNull.Value };
        switch (column.Kind)
        {
            case ColumnKind.Integer:
                parameter.MySqlDbType = MySqlDbType.Int64;
                break;
            case ColumnKind.Boolean:
                parameter.MySqlDbType = MySqlDbType.Bool;
                break;
            case ColumnKind.Date:
                parameter.MySqlDbType = MySqlDbType.Date;
                break;
        }
        return parameter;
    }

    public override (string Insert, string Existing) InsertInto(SqlTable table) => ($"INSERT INTO {table.Quoted}", table.Quoted);

    /// <summary>
    /// <c>ON DUPLICATE KEY UPDATE c = IF(guard, VALUES(c), c), …, version = IF(guard, VALUES(version), version)</c>:
    /// assignments run left to right and see the columns already assigned, so the version, which the guard reads, goes last.
    /// MySQL takes a conflict on any unique index for a duplicate: the guard also requires the row found to be this
    /// record's (same key), and a NOT NULL key column is set to NULL otherwise, which fails the statement (1048) instead
    /// of losing the record without a word when another row holds one of its unique values.
    /// </summary>
    public override string OnConflict(SqlTable table, SqlFlowOptions options, IReadOnlyList<string> names, bool repair)
    {
        var v = Quote(options.VersionColumn);
        var same = string.Join(" AND ", options.Key.Select(k => $"{Quote(k)} <=> VALUES({Quote(k)})"));
        var guard = $"({same}) AND ({v} IS NULL OR {v} {(repair ? "<=" : "<")} VALUES({v}))";
        var notNull = _notNull.TryGetValue(table.Name, out var set) ? set : [];
        var updates = new List<string>();
        if (options.Key.All(notNull.Contains))
            updates.AddRange(options.Key.Select(k => $"{Quote(k)} = IF({same}, {Quote(k)}, NULL)"));
        updates.AddRange(names.Where(n => !options.Key.Contains(n) && n != options.VersionColumn).Append(options.VersionColumn)
            .Select(n => $"{Quote(n)} = IF({guard}, VALUES({Quote(n)}), {Quote(n)})"));
        return " ON DUPLICATE KEY UPDATE " + string.Join(", ", updates);
    }

    public override string Select(SqlColumn column, string qualifier) => column.Kind switch
    {
        ColumnKind.Geometry => $"ST_AsGeoJSON({qualifier}{Quote(column.Name)}) AS {Quote(column.Name)}",
        _ => qualifier + Quote(column.Name),
    };

    public override ConnectorResult? Classify(Exception exception) => exception switch
    {
        MySqlException m => Classify(m),
        TimeoutException => ConnectorResult.Transient("MySQL timed out"),
        System.Net.Sockets.SocketException or IOException => ConnectorResult.Transient($"MySQL connection failed: {exception.Message}"),
        _ => null,
    };

    private static ConnectorResult Classify(MySqlException m)
    {
        var what = $"MySQL {m.Number}{(m.SqlState is { Length: > 0 } state ? $" ({state})" : "")}: {m.Message}";
        // Client-side failures (no server error number below 2000 or the driver's own codes) are connections lost or refused.
        if (m.IsTransient || m.Number is 0 or >= 2000 && m.Number < 3000
            || m.ErrorCode is MySqlErrorCode.UnableToConnectToHost or MySqlErrorCode.ServerShutdown or MySqlErrorCode.LockWaitTimeout
                or MySqlErrorCode.LockDeadlock or MySqlErrorCode.QueryInterrupted or MySqlErrorCode.CommandTimeoutExpired
                or MySqlErrorCode.TooManyUserConnections or MySqlErrorCode.AccessDenied or MySqlErrorCode.UnknownDatabase
                or MySqlErrorCode.LockAborted || m.Number is 1040 or 1053 or 1927 or 4031)
            return ConnectorResult.Transient(what);
        return m.ErrorCode switch
        {
            MySqlErrorCode.DuplicateKeyEntry => ConnectorResult.Permanent($"unique violation (another row holds that value): {what}"),
            MySqlErrorCode.ColumnCannotBeNull => ConnectorResult.Permanent(
                $"a column must not be null, or (for a key column) another row holds one of this record's unique values: {what}"),
            _ => ConnectorResult.Permanent(what),
        };
    }

    public override ValueTask DisposeAsync() => _source.DisposeAsync();
}
