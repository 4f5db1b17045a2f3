namespace Lockstep.Status;

/// <summary>What the journal knows of one flow: its deliveries by state and its last outcomes.</summary>
public sealed record FlowCounters(
    string Flow, string System, long Pending, long InFlight, long Delivered, long Dead,
    DateTimeOffset? OldestPendingSince, DateTimeOffset? LastSuccessAt, DateTimeOffset? LastFailureAt, string? LastError);
