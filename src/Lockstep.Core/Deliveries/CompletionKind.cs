namespace Lockstep.Deliveries;

/// <summary>How a claimed delivery ended, as written to the journal.</summary>
public enum CompletionKind
{
    /// <summary>The target acknowledged this version.</summary>
    Delivered = 0,
    /// <summary>Nothing to send (filtered out, or a delete on a flow without a delete operation); counts as done.</summary>
    Skipped = 1,
    /// <summary>A transient failure: tried again at <see cref="DeliveryCompletion.DueAt"/>.</summary>
    Retry = 2,
    /// <summary>A permanent failure or attempts exhausted: moved to the dead letters.</summary>
    Dead = 3,
    /// <summary>Not attempted (the system's circuit is open): due again later, no attempt counted.</summary>
    Deferred = 4,
}
