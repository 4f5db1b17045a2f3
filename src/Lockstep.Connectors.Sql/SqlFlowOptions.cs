namespace Lockstep.Connectors.Sql;

/// <summary>
/// A flow into a table: the key column(s) upserts conflict on, the column filled with the record version (older never
/// overwrites newer), and an optional soft-delete column set true instead of deleting the row.
/// </summary>
internal sealed record SqlFlowOptions(string Table, IReadOnlyList<string> Key, string VersionColumn, string? SoftDelete);
