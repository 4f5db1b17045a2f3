namespace Lockstep.Connectors.Sql;

/// <summary>A mapped value converted for its column; a <c>{lat, lon}</c> point takes two parameters, anything else one.</summary>
internal readonly record struct SqlValue(SqlColumn Column, object? Value)
{
    public int Parameters => Value is GeometryValue { IsPoint: true } ? 2 : 1;
}
