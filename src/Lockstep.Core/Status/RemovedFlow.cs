namespace Lockstep.Status;

/// <summary>
/// A flow the configuration no longer has, with the work it left in the journal: kept (never discarded by a reload) until
/// the flow returns or an operator drops it.
/// </summary>
public sealed record RemovedFlow(string Flow, string System, long Pending, long Dead);
