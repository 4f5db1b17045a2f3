namespace Lockstep.Connectors.Sql;

/// <summary>How a column's values are converted from and to JSON, read once from the catalog.</summary>
internal enum ColumnKind
{
    /// <summary>Anything else (uuid, enums, arrays…): sent as text for the database to parse, read back as text.</summary>
    Other = 0,
    Text = 1,
    Integer = 2,
    Numeric = 3,
    Float = 4,
    Boolean = 5,
    /// <summary><c>timestamptz</c>: an instant, ISO 8601 in UTC.</summary>
    Timestamp = 6,
    /// <summary><c>timestamp</c> without time zone.</summary>
    LocalTimestamp = 7,
    Date = 8,
    Json = 9,
    Jsonb = 10,
    /// <summary>PostGIS <c>geometry</c>: a <c>{lat, lon}</c> point or a GeoJSON geometry, SRID 4326.</summary>
    Geometry = 11,
}
