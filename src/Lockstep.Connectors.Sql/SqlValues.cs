using System.Globalization;
using System.Text.Json;

namespace Lockstep.Connectors.Sql;

/// <summary>
/// Converts a mapped JSON value into what the column takes (by the kind read from the catalog), or says why it cannot,
/// naming the column and never echoing long values.
/// </summary>
internal static class SqlValues
{
    private static readonly JsonElement True = JsonDocument.Parse("true").RootElement.Clone();
    private static readonly JsonElement False = JsonDocument.Parse("false").RootElement.Clone();

    public static JsonElement Bool(bool value) => value ? True : False;

    public static JsonElement Text(string value) => JsonSerializer.SerializeToElement(value);

    public static JsonElement Number(long value) => JsonSerializer.SerializeToElement(value);

    public static (object? Value, string? Error) Convert(JsonElement value, SqlColumn column, SqlFamily family)
    {
        if (value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return (null, null);
        if (family == SqlFamily.Sqlite) return Sqlite(value, column);
        if (family == SqlFamily.MySql && column.Kind == ColumnKind.Geometry)
            return (null, $"column '{column.Name}' ({column.TypeName}): writing geometry columns is not supported yet for mysql systems");
        object? converted = column.Kind switch
        {
            ColumnKind.Integer => Integer(value),
            ColumnKind.Numeric => value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var d) ? d
                : value.ValueKind == JsonValueKind.String && decimal.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d) ? d : null,
            ColumnKind.Float => value.ValueKind == JsonValueKind.Number ? value.GetDouble()
                : value.ValueKind == JsonValueKind.String && double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var f) ? f : null,
            ColumnKind.Boolean => Boolean(value),
            ColumnKind.Timestamp => value.ValueKind == JsonValueKind.String && Instant(value.GetString()!) is { } instant ? instant.UtcDateTime : null,
            ColumnKind.LocalTimestamp => value.ValueKind == JsonValueKind.String && DateTime.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)
                ? DateTime.SpecifyKind(local, DateTimeKind.Unspecified) : null,
            ColumnKind.Date => value.ValueKind == JsonValueKind.String ? Date(value.GetString()!) : null,
            ColumnKind.Json or ColumnKind.Jsonb => value.GetRawText(),
            ColumnKind.Geometry => Geometry(value),
            _ => value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText(),
        };
        return converted is null ? (null, Mismatch(value, column)) : (converted, null);
    }

    // SQLite is dynamically typed: integers and booleans as integers, objects and arrays as JSON text, the rest as given.
    private static (object? Value, string? Error) Sqlite(JsonElement value, SqlColumn column)
    {
        switch (column.Kind)
        {
            case ColumnKind.Integer when value.ValueKind is JsonValueKind.Number or JsonValueKind.String:
                return Integer(value) is { } i ? (i, null) : (null, Mismatch(value, column));
            case ColumnKind.Boolean or ColumnKind.Integer when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                return (value.ValueKind == JsonValueKind.True ? 1L : 0L, null);
            case ColumnKind.Boolean:
                return Boolean(value) is bool b ? (b ? 1L : 0L, null) : (null, Mismatch(value, column));
        }
        return value.ValueKind switch
        {
            JsonValueKind.String => (value.GetString(), null),
            JsonValueKind.Number => value.TryGetInt64(out var l) ? (l, null) : (value.GetDouble(), null),
            JsonValueKind.True => (1L, null),
            JsonValueKind.False => (0L, null),
            _ => (value.GetRawText(), null),
        };
    }

    private static object? Integer(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n) ? n
        : value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out n) ? n : null;

    private static object? Boolean(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String when bool.TryParse(value.GetString(), out var b) => b,
        JsonValueKind.Number when value.TryGetInt64(out var n) && n is 0 or 1 => n == 1,
        _ => null,
    };

    public static DateTimeOffset? Instant(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant) ? instant : null;

    private static object? Date(string text) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date
        : Instant(text) is { } instant ? DateOnly.FromDateTime(instant.UtcDateTime) : null;

    private static GeometryValue? Geometry(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            try
            {
                using var parsed = JsonDocument.Parse(value.GetString()!);
                return Geometry(parsed.RootElement);
            }
            catch (JsonException)
            {
                return null;
            }
        }
        if (value.ValueKind != JsonValueKind.Object) return null;
        if (value.TryGetProperty("lat", out var lat) && lat.ValueKind == JsonValueKind.Number
            && (value.TryGetProperty("lon", out var lon) || value.TryGetProperty("lng", out lon)) && lon.ValueKind == JsonValueKind.Number)
            return new GeometryValue(lon.GetDouble(), lat.GetDouble(), null);
        return value.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String ? new GeometryValue(null, null, value.GetRawText()) : null;
    }

    private static string Mismatch(JsonElement value, SqlColumn column)
    {
        var shown = value.GetRawText();
        if (shown.Length > 40) shown = shown[..37] + "...";
        var expected = column.Kind == ColumnKind.Geometry ? " (give {lat, lon} or a GeoJSON geometry)" : "";
        return $"column '{column.Name}' ({column.TypeName}) cannot take {shown}{expected}";
    }
}
