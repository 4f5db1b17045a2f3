using System.Data.Common;
using Npgsql;
using NpgsqlTypes;

namespace Lockstep.Connectors.Sql;

/// <summary>PostgreSQL (and PostGIS) through one pooled <see cref="NpgsqlDataSource"/> per system, with automatic statement preparation.</summary>
internal sealed class PostgresDatabase : SqlDatabase
{
    private const string CatalogQuery = """
        SELECT a.attname, t.typname, format_type(a.atttypid, a.atttypmod)
        FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = to_regclass(@table) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """;

    private readonly NpgsqlDataSource _source;

    public PostgresDatabase(string connectionString, TimeSpan timeout)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // Statements repeat per record shape: let the driver prepare the frequent ones on each pooled connection.
        if (builder.MaxAutoPrepare == 0) builder.MaxAutoPrepare = 64;
        if (!connectionString.Contains("Command Timeout", StringComparison.OrdinalIgnoreCase) && !connectionString.Contains("CommandTimeout", StringComparison.OrdinalIgnoreCase))
            builder.CommandTimeout = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
        _source = NpgsqlDataSource.Create(builder);
    }

    public override SqlFamily Family => SqlFamily.Postgres;

    public override int MaxParameters => 65535;

    public override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _source.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    public override async Task<string?> CheckWriteAsync(DbConnection connection, SqlTable table, bool delete, CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        await using var commandScope = command.ConfigureAwait(false);
        command.CommandText = "SELECT has_table_privilege(to_regclass(@table), 'INSERT'), has_table_privilege(to_regclass(@table), 'UPDATE'), has_table_privilege(to_regclass(@table), 'DELETE')";
        command.Parameters.Add(new NpgsqlParameter("table", NpgsqlDbType.Text) { Value = table.Quoted });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var missing = new[] { ("INSERT", reader.GetBoolean(0)), ("UPDATE", reader.GetBoolean(1)), ("DELETE", reader.GetBoolean(2) || !delete) }
            .Where(p => !p.Item2).Select(p => p.Item1).ToList();
        return missing.Count == 0 ? null : $"this login lacks {string.Join(", ", missing)} on {table.Name}";
    }

    protected override async Task<Dictionary<string, SqlColumn>> ReadColumnsAsync(DbConnection connection, string table, CancellationToken cancellationToken)
    {
        var columns = new Dictionary<string, SqlColumn>(StringComparer.Ordinal);
        var command = connection.CreateCommand();
        await using var commandScope = command.ConfigureAwait(false);
        command.CommandText = CatalogQuery;
        command.Parameters.Add(new NpgsqlParameter("table", NpgsqlDbType.Text) { Value = QuoteTable(table) });
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetString(0);
            columns[name] = new SqlColumn(name, KindOf(reader.GetString(1)), reader.GetString(2));
        }
        return columns;
    }

    public override ColumnKind KindOf(string dataTypeName) => dataTypeName switch
    {
        "int2" or "int4" or "int8" or "smallint" or "integer" or "bigint" => ColumnKind.Integer,
        "numeric" => ColumnKind.Numeric,
        "float4" or "float8" or "real" or "double precision" => ColumnKind.Float,
        "bool" or "boolean" => ColumnKind.Boolean,
        "timestamptz" or "timestamp with time zone" => ColumnKind.Timestamp,
        "timestamp" or "timestamp without time zone" => ColumnKind.LocalTimestamp,
        "date" => ColumnKind.Date,
        "json" => ColumnKind.Json,
        "jsonb" => ColumnKind.Jsonb,
        "geometry" => ColumnKind.Geometry,
        "text" or "varchar" or "bpchar" or "name" or "citext" or "character varying" or "character" => ColumnKind.Text,
        _ when dataTypeName.StartsWith("numeric", StringComparison.Ordinal) => ColumnKind.Numeric,
        _ when dataTypeName.StartsWith("character", StringComparison.Ordinal) => ColumnKind.Text,
        _ => ColumnKind.Other,
    };

    public override DbParameter Parameter(string name, SqlColumn column, object? value)
    {
        var parameter = new NpgsqlParameter { ParameterName = name, Value = value ?? DBNull.Value };
        parameter.NpgsqlDbType = column.Kind switch
        {
            ColumnKind.Text => NpgsqlDbType.Text,
            ColumnKind.Integer => NpgsqlDbType.Bigint,
            ColumnKind.Numeric => NpgsqlDbType.Numeric,
            ColumnKind.Float => NpgsqlDbType.Double,
            ColumnKind.Boolean => NpgsqlDbType.Boolean,
            ColumnKind.Timestamp => NpgsqlDbType.TimestampTz,
            ColumnKind.LocalTimestamp => NpgsqlDbType.Timestamp,
            ColumnKind.Date => NpgsqlDbType.Date,
            ColumnKind.Json => NpgsqlDbType.Json,
            ColumnKind.Jsonb => NpgsqlDbType.Jsonb,
            // Geometry parameters are coordinates or GeoJSON text inside an ST_ expression; others are parsed by the server.
            ColumnKind.Geometry => value is double ? NpgsqlDbType.Double : NpgsqlDbType.Text,
            _ => NpgsqlDbType.Unknown,
        };
        return parameter;
    }

    public override (string Insert, string Existing) InsertInto(SqlTable table) => ($"INSERT INTO {table.Quoted} AS t", "t");

    public override string Select(SqlColumn column, string qualifier) => column.Kind switch
    {
        ColumnKind.Geometry => $"ST_AsGeoJSON({qualifier}{Quote(column.Name)}) AS {Quote(column.Name)}",
        ColumnKind.Other => $"{qualifier}{Quote(column.Name)}::text AS {Quote(column.Name)}",
        _ => qualifier + Quote(column.Name),
    };

    public override ConnectorResult? Classify(Exception exception) => exception switch
    {
        PostgresException p => Classify(p),
        NpgsqlException { InnerException: TimeoutException } => ConnectorResult.Transient("PostgreSQL timed out"),
        NpgsqlException n => ConnectorResult.Transient($"PostgreSQL connection failed: {ErrorChain.Of(n)}"),
        TimeoutException => ConnectorResult.Transient("PostgreSQL timed out"),
        System.Net.Sockets.SocketException or IOException => ConnectorResult.Transient($"PostgreSQL connection failed: {ErrorChain.Of(exception)}"),
        _ => null,
    };

    private static ConnectorResult Classify(PostgresException p)
    {
        var state = p.SqlState;
        var what = $"PostgreSQL {state}: {p.MessageText}";
        // Server going away, contention and exhaustion pass; so do login problems, which an operator fixes for all records at once.
        if (state is "40001" or "40P01" or "55P03" or "57014" or "57P01" or "57P02" or "57P03"
            || state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("53", StringComparison.Ordinal)
            || state.StartsWith("28", StringComparison.Ordinal) || state == "3D000" || p.IsTransient)
            return ConnectorResult.Transient(what);
        return state switch
        {
            "23505" => ConnectorResult.Permanent($"unique violation on {p.ConstraintName ?? "a unique index"} (another row holds that value): {what}"),
            "23502" => ConnectorResult.Permanent($"column {p.ColumnName ?? "?"} must not be null: {what}"),
            "23514" => ConnectorResult.Permanent($"check constraint {p.ConstraintName ?? "?"} failed: {what}"),
            "42P10" => ConnectorResult.Permanent($"the key columns need a primary key or unique index for ON CONFLICT: {what}"),
            _ => ConnectorResult.Permanent(what),
        };
    }

    public override ValueTask DisposeAsync() => _source.DisposeAsync();
}
