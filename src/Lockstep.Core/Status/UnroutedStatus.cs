namespace Lockstep.Status;

/// <summary>Published events since start that matched no flow (stored, delivered nowhere), in all and by type.</summary>
public sealed record UnroutedStatus(long Events, IReadOnlyDictionary<string, long> Types);
