namespace Lockstep.Connectors;

/// <summary>What a target holds for one record (for reconciliation): its JSON, nothing, or why it could not be read.</summary>
public sealed record TargetRead(bool Exists, string? Json, string? Error)
{
    public static TargetRead Missing { get; } = new(false, null, null);

    public static TargetRead Found(string json) => new(true, json, null);

    public static TargetRead Failed(string error) => new(false, null, error);
}
