namespace Lockstep.Connectors.Sql;

/// <summary>A mapped geometry: a point from <c>{lat, lon}</c> (or <c>lng</c>), or a GeoJSON geometry object as text.</summary>
internal sealed record GeometryValue(double? Lon, double? Lat, string? GeoJson)
{
    public bool IsPoint => GeoJson is null;
}
