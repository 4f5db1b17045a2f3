namespace Lockstep.Configuration;

/// <summary>Sandbox limits for every JavaScript map/filter call (YAML section <c>mapping</c>).</summary>
public sealed record MappingLimits(TimeSpan Timeout, long MemoryBytes, int RecursionDepth)
{
    public static MappingLimits Default { get; } = new(TimeSpan.FromSeconds(1), 16 * 1024 * 1024, 64);
}
