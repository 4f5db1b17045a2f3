namespace Lockstep.Connectors.Sql;

/// <summary>Which database a SQL system is: all share the connector's semantics, each has its own driver and catalog.</summary>
internal enum SqlFamily
{
    Postgres = 0,
    Sqlite = 1,
    MySql = 2,
}
