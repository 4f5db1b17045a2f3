namespace Lockstep.Tests.Connectors.Sql;

/// <summary>
/// Tests that use the shared PostgreSQL server run one at a time: one of them kills and restarts it, which would fail
/// whatever else was talking to it. Other PostgreSQL tests that must not see a restart belong in this collection too.
/// </summary>
[CollectionDefinition("PostgreSQL")]
public sealed class PostgresCollection;
