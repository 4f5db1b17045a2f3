namespace Lockstep.Conflicts;

/// <summary>
/// The hash of a record's data as a pair's flow maps it, the same hash <see cref="SyncGate"/> stamps on a change that
/// side reports: null when the flow maps it to nothing.
/// </summary>
public delegate string? SideHasher(string flow, string entity, string key, string data);
