using System.Data.Common;
using System.Text.Json;
using Lockstep.Deliveries;

namespace Lockstep.Connectors.Sql;

/// <summary>
/// Builds the parameterised statements of a flow (identifiers quoted, values only as parameters). The upsert's
/// <c>WHERE existing.version &lt; excluded.version</c> makes it safe to repeat and safe against reordering across nodes.
/// Each method fills the command and returns null, or returns why the record cannot be written (a permanent failure).
/// </summary>
internal static class SqlStatements
{
    public static string? Upsert(DbCommand command, SqlDatabase db, SqlTable table, SqlFlowOptions options, Delivery delivery, JsonElement record)
    {
        if (record.ValueKind != JsonValueKind.Object) return "the mapped record must be a JSON object (its fields are the columns)";
        var names = new List<string>();
        var values = new List<string>();
        foreach (var field in record.EnumerateObject())
        {
            if (field.Name == options.VersionColumn || names.Contains(field.Name)) continue;
            if (!table.Columns.TryGetValue(field.Name, out var column)) return $"'{field.Name}' is not a column of {table.Name} (columns: {table.ColumnList})";
            if (Add(command, db, column, field.Value, values) is { } error) return error;
            names.Add(field.Name);
        }
        foreach (var key in options.Key)
        {
            if (!table.Columns.TryGetValue(key, out var column)) return $"key column '{key}' is not a column of {table.Name} (columns: {table.ColumnList})";
            if (names.Contains(key)) continue;
            if (options.Key.Count > 1) return $"the mapped record must contain the key column '{key}'";
            if (Add(command, db, column, SqlValues.Text(delivery.Key), values) is { } error) return error;
            names.Add(key);
        }
        if (!table.Columns.TryGetValue(options.VersionColumn, out var version))
            return $"{table.Name} has no version column '{options.VersionColumn}' (add it, or name another with versionColumn)";
        if (Add(command, db, version, SqlValues.Number(delivery.Version), values) is { } versionError) return versionError;
        names.Add(options.VersionColumn);
        if (options.SoftDelete is { } softDelete && !names.Contains(softDelete))
        {
            if (!table.Columns.TryGetValue(softDelete, out var deleted)) return $"softDelete column '{softDelete}' is not a column of {table.Name}";
            // An upsert after a soft delete brings the record back.
            if (Add(command, db, deleted, SqlValues.Bool(false), values) is { } error) return error;
            names.Add(softDelete);
        }

        // A reconciliation repair resends the version the row claims to have: it must overwrite what drifted behind our back.
        var (insert, existing) = db.InsertInto(table);
        var v = SqlDatabase.Quote(options.VersionColumn);
        var updates = names.Where(n => !options.Key.Contains(n)).Select(n => $"{SqlDatabase.Quote(n)} = excluded.{SqlDatabase.Quote(n)}");
        command.CommandText = $"{insert} ({string.Join(", ", names.Select(SqlDatabase.Quote))}) VALUES ({string.Join(", ", values)}) "
            + $"ON CONFLICT ({string.Join(", ", options.Key.Select(SqlDatabase.Quote))}) DO UPDATE SET {string.Join(", ", updates)} "
            + $"WHERE {existing}.{v} IS NULL OR {existing}.{v} {(delivery.Repair == 0 ? "<" : "<=")} excluded.{v}";
        return null;
    }

    public static string? Delete(DbCommand command, SqlDatabase db, SqlTable table, SqlFlowOptions options, Delivery delivery)
    {
        var (key, why) = KeyColumn(table, options);
        if (key is null) return why;
        if (!table.Columns.TryGetValue(options.VersionColumn, out var version))
            return $"{table.Name} has no version column '{options.VersionColumn}' (add it, or name another with versionColumn)";
        if (Add(command, db, key, SqlValues.Text(delivery.Key)) is { } keyError) return keyError;
        if (Add(command, db, version, SqlValues.Number(delivery.Version)) is { } versionError) return versionError;
        var k = SqlDatabase.Quote(key.Name);
        var v = SqlDatabase.Quote(options.VersionColumn);
        // Never removes a newer version than the one being deleted (a late delete from another node).
        var guard = $"{k} = @p0 AND ({v} IS NULL OR {v} < @p1)";
        if (options.SoftDelete is { } softDelete)
        {
            if (!table.Columns.TryGetValue(softDelete, out var deleted)) return $"softDelete column '{softDelete}' is not a column of {table.Name}";
            if (Add(command, db, deleted, SqlValues.Bool(true)) is { } error) return error;
            command.CommandText = $"UPDATE {table.Quoted} SET {SqlDatabase.Quote(softDelete)} = @p2, {v} = @p1 WHERE {guard}";
        }
        else command.CommandText = $"DELETE FROM {table.Quoted} WHERE {guard}";
        return null;
    }

    public static string? Read(DbCommand command, SqlDatabase db, SqlTable table, SqlFlowOptions options, Delivery delivery)
    {
        var (key, why) = KeyColumn(table, options);
        if (key is null) return why;
        if (Add(command, db, key, SqlValues.Text(delivery.Key)) is { } error) return error;
        command.CommandText = $"SELECT {string.Join(", ", table.Columns.Values.Select(c => db.Select(c, "")))} FROM {table.Quoted} WHERE {SqlDatabase.Quote(key.Name)} = @p0";
        return null;
    }

    private static (SqlColumn? Column, string? Why) KeyColumn(SqlTable table, SqlFlowOptions options)
    {
        if (options.Key.Count != 1) return (null, "deleting or reading by a multi-column key is not supported yet (use a single key column)");
        return table.Columns.TryGetValue(options.Key[0], out var column) ? (column, null)
            : (null, $"key column '{options.Key[0]}' is not a column of {table.Name} (columns: {table.ColumnList})");
    }

    private static string? Add(DbCommand command, SqlDatabase db, SqlColumn column, JsonElement value, List<string>? expressions = null)
    {
        var (converted, error) = SqlValues.Convert(value, column, db.Family);
        if (error is not null) return error;
        var name = "@p" + command.Parameters.Count;
        // A geometry's value goes through ST_ functions, SRID 4326; every other value is the parameter itself.
        switch (converted)
        {
            case GeometryValue { IsPoint: true } point:
                command.Parameters.Add(db.Parameter(name, column, point.Lon!.Value));
                command.Parameters.Add(db.Parameter(name + "y", column, point.Lat!.Value));
                expressions?.Add($"ST_SetSRID(ST_MakePoint({name}, {name}y), 4326)");
                break;
            case GeometryValue shape:
                command.Parameters.Add(db.Parameter(name, column, shape.GeoJson));
                expressions?.Add($"ST_SetSRID(ST_GeomFromGeoJSON({name}), 4326)");
                break;
            default:
                command.Parameters.Add(db.Parameter(name, column, converted));
                expressions?.Add(name);
                break;
        }
        return null;
    }
}
