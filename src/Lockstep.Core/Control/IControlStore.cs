namespace Lockstep.Control;

/// <summary>
/// What operators change at run time without a restart, kept in the journal: the pauses, and the dropping of work a
/// removed flow left behind. Every member is one short transaction.
/// </summary>
public interface IControlStore
{
    /// <summary>Every pause in effect, in no particular order.</summary>
    ValueTask<IReadOnlyList<Pause>> ListPausesAsync(CancellationToken cancellationToken);

    /// <summary>Records the pause; false (and nothing changed) when that flow, system or source is already paused.</summary>
    ValueTask<bool> PauseAsync(Pause pause, CancellationToken cancellationToken);

    /// <summary>Ends the pause; false when it was not paused.</summary>
    ValueTask<bool> ResumeAsync(PauseKind kind, string name, CancellationToken cancellationToken);

    /// <summary>
    /// Flows the configuration the journal was opened with does not have, that left undelivered deliveries (pending, or in
    /// flight at a crash) or dead letters; empty when there are none.
    /// </summary>
    ValueTask<IReadOnlyList<Status.RemovedFlow>> ListRemovedFlowsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the deliveries of <paramref name="flow"/> that are not delivered (pending, in flight at a crash, dead) and its
    /// dead letters; returns how many deliveries. Only for a flow the configuration no longer has: an operator's choice.
    /// </summary>
    ValueTask<int> DropFlowWorkAsync(string flow, CancellationToken cancellationToken);
}
