using Lockstep.Configuration;
using Lockstep.Sources;
using Npgsql;

namespace Lockstep.Connectors.Sql;

/// <summary>
/// <c>type: postgres</c> (a <c>connection</c> string, usually <c>"${GIS_DB}"</c>, kept secret) and <c>type: sqlite</c>
/// (a <c>path</c>, relative to the config file): flows write a <c>table</c> by <c>key</c>, and <c>sql-poll</c> sources read one.
/// </summary>
public sealed class SqlConnectorFactory : IConnectorFactory
{
    private readonly SqlFamily _family;

    private SqlConnectorFactory(SqlFamily family)
    {
        _family = family;
        SystemKeys = family == SqlFamily.Sqlite ? ["path"] : ["connection"];
    }

    public static SqlConnectorFactory Postgres { get; } = new(SqlFamily.Postgres);

    public static SqlConnectorFactory Sqlite { get; } = new(SqlFamily.Sqlite);

    /// <summary><c>type: mysql</c>: MariaDB or MySQL, a <c>connection</c> string (<c>Server=…;Database=…;User ID=…;Password=…</c>), kept secret.</summary>
    public static SqlConnectorFactory MySql { get; } = new(SqlFamily.MySql);

    public string Type => _family switch
    {
        SqlFamily.Postgres => "postgres",
        SqlFamily.MySql => "mysql",
        _ => "sqlite",
    };

    public IReadOnlyCollection<string> SystemKeys { get; }

    public IReadOnlyCollection<string> FlowKeys { get; } = ["table", "key", "keySeparator", "versionColumn", "softDelete", "batch", "linger", "batchSize"];

    public object? BindSystem(ConfigSection system)
    {
        if (_family == SqlFamily.Sqlite)
        {
            var path = system.String("path", required: true);
            if (path is null) return null;
            var full = Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(system.Context.File)) ?? ".", path));
            return new SqlSystemOptions(_family, null, full);
        }
        var connection = system.SecretValue("connection", required: true);
        if (connection is null) return null;
        if (_family == SqlFamily.MySql) return BindMySql(system, connection);
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connection.Reveal());
            system.Context.Secrets.Add(builder.Password, always: true);
            if (string.IsNullOrEmpty(builder.Host)) system.Error("connection", "needs a Host (e.g. Host=127.0.0.1;Database=gis;Username=lockstep;Password=...)");
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            // The driver's message may quote the string: say only what is wrong with it.
            system.Error("connection", "is not a PostgreSQL connection string (write Host=...;Database=...;Username=...;Password=...)");
            return null;
        }
        return new SqlSystemOptions(_family, connection, null);
    }

    private static SqlSystemOptions? BindMySql(ConfigSection system, Secret connection)
    {
        try
        {
            var builder = new MySqlConnector.MySqlConnectionStringBuilder(connection.Reveal());
            system.Context.Secrets.Add(builder.Password, always: true);
            if (string.IsNullOrEmpty(builder.Server)) system.Error("connection", "needs a Server (e.g. Server=127.0.0.1;Database=records;User ID=lockstep;Password=...)");
            if (string.IsNullOrEmpty(builder.Database)) system.Error("connection", "needs a Database (the schema the flows' tables live in)");
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            // The driver's message may quote the string: say only what is wrong with it.
            system.Error("connection", "is not a MySQL/MariaDB connection string (write Server=...;Database=...;User ID=...;Password=...)");
            return null;
        }
        return new SqlSystemOptions(SqlFamily.MySql, connection, null);
    }

    public object? BindFlow(ConfigSection flow, SystemDefinition system)
    {
        var table = flow.String("table", required: true);
        var key = flow.StringList("key");
        if (key.Count == 0 && !flow.Has("key")) flow.Error("key", "is required: the key column the record key maps to (or a list of columns)");
        if (key.Any(string.IsNullOrWhiteSpace)) flow.Error("key", "column names must not be empty");
        var version = flow.String("versionColumn") ?? "version";
        var softDelete = flow.String("softDelete");
        if (key.Contains(version)) flow.Error("versionColumn", $"'{version}' is also a key column");
        if (table is { Length: 0 }) flow.Error("table", "must not be empty");
        var separator = flow.String("keySeparator");
        if (separator is { Length: 0 }) flow.Error("keySeparator", "must not be empty");
        else if (separator is not null && key.Count < 2) flow.Error("keySeparator", "only applies to a multi-column key (key: [a, b])");
        var batch = flow.Bool("batch");
        var linger = flow.Duration("linger", TimeSpan.Zero, TimeSpan.FromSeconds(10));
        if (linger is not null && batch != true) flow.Error("linger", "only applies with 'batch: true'");
        var batchSize = flow.Int("batchSize", 1, 10_000);
        if (batchSize is not null && batch != true) flow.Error("batchSize", "only applies with 'batch: true'");
        return table is null or { Length: 0 } || key.Count == 0 ? null : new SqlFlowOptions(table, key, version, softDelete)
        {
            KeySeparator = separator is { Length: > 0 } ? separator : null,
            Batch = batch == true,
            Linger = linger ?? TimeSpan.FromMilliseconds(50),
            BatchSize = batchSize,
        };
    }

    public IConnector Create(SystemDefinition system, ConnectorContext context) => new SqlConnector(Open(system), context);

    public ISource CreateSource(SourceDefinition source, SystemDefinition system, ConnectorContext context) => new SqlPollSource(source, Open(system), context);

    public string? CannotReconcile(FlowDefinition flow) =>
        flow.Settings is SqlFlowOptions { Key.Count: > 1, KeySeparator: null }
            ? "reading back by a multi-column key needs keySeparator (how the record key holds one value per key column)" : null;

    private static SqlDatabase Open(SystemDefinition system)
    {
        var options = (SqlSystemOptions)system.Settings!;
        return options.Family switch
        {
            SqlFamily.Postgres => new PostgresDatabase(options.Connection!.Reveal(), system.Timeout),
            SqlFamily.MySql => new MySqlDatabase(options.Connection!.Reveal(), system.Timeout),
            _ => new SqliteDatabase(options.Path!, system.Timeout),
        };
    }
}
