namespace Lockstep.Connectors.Sql;

/// <summary>A table as read from the catalog once: its quoted name and its columns by name.</summary>
internal sealed record SqlTable(string Name, string Quoted, IReadOnlyDictionary<string, SqlColumn> Columns)
{
    public string ColumnList => string.Join(", ", Columns.Keys.Take(20)) + (Columns.Count > 20 ? ", …" : "");
}
