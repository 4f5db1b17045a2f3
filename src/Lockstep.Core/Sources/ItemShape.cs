namespace Lockstep.Sources;

/// <summary>
/// How an item fetched or pushed becomes an event: which entity, which field is the key, the version and the cursor,
/// an optional tombstone field marking deletions, or a JS <c>map</c> returning <c>{entity, key, version?, op?, data}</c>.
/// </summary>
public sealed record ItemShape(string? Entity, string? KeyField, string? VersionField, string? CursorField, string? TombstoneField, string? Map, string EventType);
