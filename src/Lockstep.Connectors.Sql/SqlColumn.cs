namespace Lockstep.Connectors.Sql;

/// <summary>One column of a target table or a polled result: its name, how to convert it, and its type as the database names it.</summary>
internal sealed record SqlColumn(string Name, ColumnKind Kind, string TypeName);
