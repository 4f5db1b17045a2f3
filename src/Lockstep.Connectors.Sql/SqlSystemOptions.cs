using Lockstep.Configuration;

namespace Lockstep.Connectors.Sql;

/// <summary>Where a SQL system lives: a PostgreSQL connection string (a secret) or a SQLite file path (absolute).</summary>
internal sealed record SqlSystemOptions(SqlFamily Family, Secret? Connection, string? Path);
