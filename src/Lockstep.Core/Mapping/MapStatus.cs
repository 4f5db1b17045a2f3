namespace Lockstep.Mapping;

/// <summary>What a flow's filter and map made of one record version.</summary>
public enum MapStatus
{
    /// <summary>A body to send.</summary>
    Mapped = 0,
    /// <summary>The filter rejected it, or the map returned null/undefined: nothing to send.</summary>
    Skipped = 1,
    /// <summary>The script threw or hit a limit: a permanent failure of this delivery.</summary>
    Failed = 2,
}
