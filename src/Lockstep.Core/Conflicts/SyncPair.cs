namespace Lockstep.Conflicts;

/// <summary>
/// A validated <c>sync:</c> pair: two systems kept equal both ways for the listed entities. Each side's changes come in
/// through its sources (mapped to the shared record), go out to the other side through that side's flow, and never
/// echo back; a record both sides changed since the last synced base is settled by the entity's policy.
/// </summary>
public sealed record SyncPair(
    string Name,
    IReadOnlySet<string> Entities,
    PairSide Source,
    PairSide Target,
    ConflictPolicy Policy,
    IReadOnlyDictionary<string, ConflictPolicy> EntityPolicies,
    string? TimestampField,
    ConflictPolicy Fallback,
    int Line)
{
    public ConflictPolicy PolicyFor(string entity) => EntityPolicies.TryGetValue(entity, out var p) ? p : Policy;

    public PairSide Side(string name) => name == Source.Name ? Source : Target;

    public PairSide Other(PairSide side) => side.Name == Source.Name ? Target : Source;

    /// <summary>The side a source belongs to, or null.</summary>
    public PairSide? SideOfSource(string source) =>
        Source.Sources.Contains(source) ? Source : Target.Sources.Contains(source) ? Target : null;

    /// <summary>The side a flow writes to, or null.</summary>
    public PairSide? SideOfFlow(string flow) => Source.Flow == flow ? Source : Target.Flow == flow ? Target : null;

    public static string PolicyName(ConflictPolicy policy) => policy switch
    {
        ConflictPolicy.SourceWins => "sourceWins",
        ConflictPolicy.TargetWins => "targetWins",
        ConflictPolicy.LastWriterWins => "lastWriterWins",
        ConflictPolicy.Merge => "merge",
        _ => "manual",
    };
}
