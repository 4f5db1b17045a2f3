namespace Lockstep.Connectors;

/// <summary>Success, or a failure worth retrying (network, timeout, 408/425/429/5xx), or one that never will succeed.</summary>
public enum ResultKind
{
    Success = 0,
    Transient = 1,
    Permanent = 2,
    /// <summary>Nothing to do for this operation (e.g. a delete on a flow without a delete operation); counts as done.</summary>
    Skipped = 3,
}
