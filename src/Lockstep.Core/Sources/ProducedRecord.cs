namespace Lockstep.Sources;

/// <summary>A record whose newest version came from a given source and is not a delete: what a full run expects to see again.</summary>
public sealed record ProducedRecord(string Entity, string Key, long Version);
