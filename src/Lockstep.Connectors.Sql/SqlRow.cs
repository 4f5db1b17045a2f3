namespace Lockstep.Connectors.Sql;

/// <summary>
/// One record version ready to upsert: its columns (sorted by name) with converted values. Rows of the same
/// <see cref="Shape"/> can share one multi-row statement; a repair (which may overwrite the same version) never shares with a normal write.
/// </summary>
internal sealed record SqlRow(IReadOnlyList<string> Names, IReadOnlyList<SqlValue> Values, bool Repair)
{
    public string Shape { get; } = (Repair ? "repair\0" : "\0") + string.Join('\0', Names);

    public int Parameters { get; } = Values.Sum(v => v.Parameters);
}
