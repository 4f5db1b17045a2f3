using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Lockstep.Deliveries;

namespace Lockstep.Connectors.Sql;

/// <summary>
/// Builds the parameterised statements of a flow (identifiers quoted, values only as parameters). The upsert's
/// <c>WHERE existing.version &lt; excluded.version</c> makes it safe to repeat and safe against reordering across nodes.
/// A record is first converted into a <see cref="SqlRow"/> (or the reason it cannot be written, a permanent failure);
/// rows of the same shape then go into one multi-row statement.
/// </summary>
internal static class SqlStatements
{
    /// <summary>One record's upsert: the row, or why the record cannot be written.</summary>
    public static (SqlRow? Row, string? Error) Row(SqlDatabase db, SqlTable table, SqlFlowOptions options, Delivery delivery, JsonElement record)
    {
        if (record.ValueKind != JsonValueKind.Object) return (null, "the mapped record must be a JSON object (its fields are the columns)");
        // Sorted by name, so records whose maps list the same fields in another order still share a statement.
        var values = new SortedDictionary<string, SqlValue>(StringComparer.Ordinal);
        foreach (var field in record.EnumerateObject())
        {
            if (field.Name == options.VersionColumn || values.ContainsKey(field.Name)) continue;
            if (!table.Columns.TryGetValue(field.Name, out var column)) return (null, $"'{field.Name}' is not a column of {table.Name} (columns: {table.ColumnList})");
            var (converted, error) = SqlValues.Convert(field.Value, column, db.Family);
            if (error is not null) return (null, error);
            values[field.Name] = new SqlValue(column, converted);
        }
        foreach (var key in options.Key)
        {
            if (!table.Columns.ContainsKey(key)) return (null, $"key column '{key}' is not a column of {table.Name} (columns: {table.ColumnList})");
        }
        if (options.KeySeparator is not null)
        {
            // The record key names the row: it fills key columns the map leaves out, and must agree with those it gives,
            // or a later delete (which has only the record key) would look for another row.
            var (keys, error) = KeyValues(db, table, options, delivery);
            if (keys is null) return (null, error);
            for (var i = 0; i < options.Key.Count; i++)
            {
                if (!values.TryGetValue(options.Key[i], out var mapped)) values[options.Key[i]] = keys[i];
                else if (!Same(mapped.Value, keys[i].Value))
                    return (null, $"the mapped '{options.Key[i]}' differs from part {i + 1} of the record key '{delivery.Key}' (split by '{options.KeySeparator}' into {string.Join(", ", options.Key)})");
            }
        }
        else if (options.Key.Count == 1)
        {
            // One key column: the map may give it (as it likes), else the record key fills it.
            if (!values.ContainsKey(options.Key[0]))
            {
                var (keys, error) = KeyValues(db, table, options, delivery);
                if (keys is null) return (null, error);
                values[options.Key[0]] = keys[0];
            }
        }
        else
        {
            foreach (var key in options.Key)
            {
                if (!values.ContainsKey(key)) return (null, $"the mapped record must contain the key column '{key}'");
            }
        }
        if (!table.Columns.TryGetValue(options.VersionColumn, out var version))
            return (null, $"{table.Name} has no version column '{options.VersionColumn}' (add it, or name another with versionColumn)");
        var (versionValue, versionError) = SqlValues.Convert(SqlValues.Number(delivery.Version), version, db.Family);
        if (versionError is not null) return (null, versionError);
        values[options.VersionColumn] = new SqlValue(version, versionValue);
        if (options.SoftDelete is { } softDelete && !values.ContainsKey(softDelete))
        {
            if (!table.Columns.TryGetValue(softDelete, out var deleted)) return (null, $"softDelete column '{softDelete}' is not a column of {table.Name}");
            // An upsert after a soft delete brings the record back.
            var (flag, error) = SqlValues.Convert(SqlValues.Bool(false), deleted, db.Family);
            if (error is not null) return (null, error);
            values[softDelete] = new SqlValue(deleted, flag);
        }
        return (new SqlRow([.. values.Keys], [.. values.Values], delivery.Repair != 0), null);
    }

    /// <summary>One record's upsert into <paramref name="command"/>; null, or why the record cannot be written.</summary>
    public static string? Upsert(DbCommand command, SqlDatabase db, SqlTable table, SqlFlowOptions options, Delivery delivery, JsonElement record)
    {
        var (row, error) = Row(db, table, options, delivery, record);
        if (row is null) return error;
        Upsert(command, db, table, options, [row]);
        return null;
    }

    /// <summary>
    /// One <c>INSERT … VALUES (…), (…) ON CONFLICT … DO UPDATE … WHERE</c> for rows of one <see cref="SqlRow.Shape"/>
    /// (same columns, same repair flag), each row with its own key; the caller keeps within the parameter limit.
    /// </summary>
    public static void Upsert(DbCommand command, SqlDatabase db, SqlTable table, SqlFlowOptions options, IReadOnlyList<SqlRow> rows)
    {
        var first = rows[0];
        var (insert, _) = db.InsertInto(table);
        var text = new StringBuilder(insert).Append(" (").AppendJoin(", ", first.Names.Select(SqlDatabase.Quote)).Append(") VALUES ");
        for (var r = 0; r < rows.Count; r++)
        {
            text.Append(r == 0 ? "(" : ", (");
            for (var c = 0; c < rows[r].Values.Count; c++)
            {
                if (c > 0) text.Append(", ");
                text.Append(Bind(command, db, rows[r].Values[c]));
            }
            text.Append(')');
        }
        // A reconciliation repair resends the version the row claims to have: it must overwrite what drifted behind our back.
        text.Append(db.OnConflict(table, options, first.Names, first.Repair));
        command.CommandText = text.ToString();
    }

    public static string? Delete(DbCommand command, SqlDatabase db, SqlTable table, SqlFlowOptions options, Delivery delivery)
    {
        var (keys, why) = KeyValues(db, table, options, delivery);
        if (keys is null) return why;
        if (!table.Columns.TryGetValue(options.VersionColumn, out var version))
            return $"{table.Name} has no version column '{options.VersionColumn}' (add it, or name another with versionColumn)";
        var (versionValue, versionError) = SqlValues.Convert(SqlValues.Number(delivery.Version), version, db.Family);
        if (versionError is not null) return versionError;
        var match = KeyMatch(command, db, options, keys);
        var v = SqlDatabase.Quote(options.VersionColumn);
        var p = Bind(command, db, new SqlValue(version, versionValue));
        // Never removes a newer version than the one being deleted (a late delete from another node).
        var guard = $"{match} AND ({v} IS NULL OR {v} < {p})";
        if (options.SoftDelete is { } softDelete)
        {
            if (!table.Columns.TryGetValue(softDelete, out var deleted)) return $"softDelete column '{softDelete}' is not a column of {table.Name}";
            var (flag, error) = SqlValues.Convert(SqlValues.Bool(true), deleted, db.Family);
            if (error is not null) return error;
            var f = Bind(command, db, new SqlValue(deleted, flag));
            command.CommandText = $"UPDATE {table.Quoted} SET {SqlDatabase.Quote(softDelete)} = {f}, {v} = {p} WHERE {guard}";
        }
        else command.CommandText = $"DELETE FROM {table.Quoted} WHERE {guard}";
        return null;
    }

    public static string? Read(DbCommand command, SqlDatabase db, SqlTable table, SqlFlowOptions options, Delivery delivery)
    {
        var (keys, why) = KeyValues(db, table, options, delivery);
        if (keys is null) return why;
        command.CommandText = $"SELECT {string.Join(", ", table.Columns.Values.Select(c => db.Select(c, "")))} FROM {table.Quoted} WHERE {KeyMatch(command, db, options, keys)}";
        return null;
    }

    /// <summary>
    /// The key columns' values from the record key: the whole key for one key column; for several, the key split by
    /// <see cref="SqlFlowOptions.KeySeparator"/> into exactly as many parts, in <c>key</c> order (the last part keeps any
    /// further separators). Without a separator a multi-column key cannot be found from the record key alone.
    /// </summary>
    private static (SqlValue[]? Values, string? Why) KeyValues(SqlDatabase db, SqlTable table, SqlFlowOptions options, Delivery delivery)
    {
        string[] parts;
        if (options.Key.Count == 1) parts = [delivery.Key];
        else if (options.KeySeparator is null)
            return (null, $"deleting or reading by the multi-column key ({string.Join(", ", options.Key)}) needs keySeparator: how the record key holds one value per key column");
        else
        {
            parts = delivery.Key.Split(options.KeySeparator, options.Key.Count);
            if (parts.Length != options.Key.Count)
                return (null, $"the record key '{delivery.Key}' does not hold {options.Key.Count} values separated by '{options.KeySeparator}' (one per key column: {string.Join(", ", options.Key)})");
        }
        var values = new SqlValue[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!table.Columns.TryGetValue(options.Key[i], out var column))
                return (null, $"key column '{options.Key[i]}' is not a column of {table.Name} (columns: {table.ColumnList})");
            var (converted, error) = SqlValues.Convert(SqlValues.Text(parts[i]), column, db.Family);
            if (error is not null) return (null, error);
            values[i] = new SqlValue(column, converted);
        }
        return (values, null);
    }

    private static string KeyMatch(DbCommand command, SqlDatabase db, SqlFlowOptions options, SqlValue[] keys) =>
        string.Join(" AND ", keys.Select((k, i) => $"{SqlDatabase.Quote(options.Key[i])} = {Bind(command, db, k)}"));

    // A key part is text; the mapped value may be a number the column stores the same way ("7" and 7 in SQLite text).
    private static bool Same(object? mapped, object? fromKey) =>
        Equals(mapped, fromKey) || (mapped is not null && fromKey is not null
            && string.Equals(Convert.ToString(mapped, CultureInfo.InvariantCulture), Convert.ToString(fromKey, CultureInfo.InvariantCulture), StringComparison.Ordinal));

    /// <summary>Adds a converted value's parameter(s) and returns the SQL expression that reads them.</summary>
    private static string Bind(DbCommand command, SqlDatabase db, SqlValue value)
    {
        var name = "@p" + command.Parameters.Count.ToString(CultureInfo.InvariantCulture);
        // A geometry's value goes through ST_ functions, SRID 4326; every other value is the parameter itself.
        switch (value.Value)
        {
            case GeometryValue { IsPoint: true } point:
                command.Parameters.Add(db.Parameter(name, value.Column, point.Lon!.Value));
                command.Parameters.Add(db.Parameter(name + "y", value.Column, point.Lat!.Value));
                return $"ST_SetSRID(ST_MakePoint({name}, {name}y), 4326)";
            case GeometryValue shape:
                command.Parameters.Add(db.Parameter(name, value.Column, shape.GeoJson));
                return $"ST_SetSRID(ST_GeomFromGeoJSON({name}), 4326)";
            default:
                command.Parameters.Add(db.Parameter(name, value.Column, value.Value));
                return name;
        }
    }
}
