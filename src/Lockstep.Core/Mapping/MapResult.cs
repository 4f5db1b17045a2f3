namespace Lockstep.Mapping;

/// <summary>The mapped body as UTF-8 JSON, or why there is none.</summary>
public readonly record struct MapResult(MapStatus Status, ReadOnlyMemory<byte> Body, string? Error)
{
    public static MapResult Skip { get; } = new(MapStatus.Skipped, ReadOnlyMemory<byte>.Empty, null);
}
