using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Lockstep.Connectors.Sql;

/// <summary>
/// Writes a row as a JSON object keyed by column, the way mapped records look: timestamps as ISO 8601, json columns as
/// JSON, a geometry point as <c>{lat, lon}</c> (with its GeoJSON <c>type</c> and <c>coordinates</c> too, so either
/// mapping compares equal), other geometries as GeoJSON.
/// </summary>
internal static class SqlRows
{
    public static string Json(DbDataReader reader, IReadOnlyList<SqlColumn> columns)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            for (var i = 0; i < columns.Count; i++)
            {
                json.WritePropertyName(columns[i].Name);
                if (reader.IsDBNull(i)) json.WriteNullValue();
                else Write(json, columns[i].Kind, reader.GetValue(i));
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void Write(Utf8JsonWriter json, ColumnKind kind, object value)
    {
        switch (value)
        {
            case string text when (kind is ColumnKind.Json or ColumnKind.Jsonb or ColumnKind.Geometry) && IsJson(text):
                if (kind == ColumnKind.Geometry) Geometry(json, text);
                else json.WriteRawValue(text);
                break;
            case long n when kind == ColumnKind.Boolean:
                json.WriteBooleanValue(n != 0);
                break;
            case string text:
                json.WriteStringValue(text);
                break;
            case bool b:
                json.WriteBooleanValue(b);
                break;
            case long or int or short or byte or sbyte or ushort or uint:
                json.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case ulong u:
                json.WriteNumberValue(u);
                break;
            case decimal d:
                json.WriteNumberValue(d);
                break;
            case double or float:
                var number = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (double.IsFinite(number)) json.WriteNumberValue(number);
                else json.WriteStringValue(number.ToString(CultureInfo.InvariantCulture));
                break;
            case DateTime t when kind == ColumnKind.Date:
                json.WriteStringValue(t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                break;
            case DateTime t when kind == ColumnKind.Timestamp:
                // An instant column (MySQL TIMESTAMP read in a UTC session comes back without a kind).
                json.WriteStringValue(Timestamp(DateTime.SpecifyKind(t, DateTimeKind.Utc)));
                break;
            case DateTime t:
                json.WriteStringValue(Timestamp(t));
                break;
            case DateTimeOffset t:
                json.WriteStringValue(Timestamp(t.UtcDateTime));
                break;
            case DateOnly d:
                json.WriteStringValue(d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                break;
            case byte[] bytes:
                json.WriteBase64StringValue(bytes);
                break;
            default:
                json.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    /// <summary>ISO 8601, fraction only as long as needed; UTC instants end in Z.</summary>
    public static string Timestamp(DateTime t) =>
        t.ToString(t.Kind == DateTimeKind.Utc ? "yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'" : "yyyy-MM-dd'T'HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture);

    private static void Geometry(Utf8JsonWriter json, string geoJson)
    {
        using var document = JsonDocument.Parse(geoJson);
        var root = document.RootElement;
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out var type) && type.GetString() == "Point"
            && root.TryGetProperty("coordinates", out var xy) && xy.ValueKind == JsonValueKind.Array && xy.GetArrayLength() >= 2)
        {
            json.WriteStartObject();
            json.WriteNumber("lat", xy[1].GetDouble());
            json.WriteNumber("lon", xy[0].GetDouble());
            json.WriteString("type", "Point");
            json.WritePropertyName("coordinates");
            json.WriteRawValue(xy.GetRawText());
            json.WriteEndObject();
            return;
        }
        json.WriteRawValue(geoJson);
    }

    private static bool IsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
