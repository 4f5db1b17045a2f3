using Lockstep.Scheduling;

namespace Lockstep.Reconciliation;

/// <summary>A flow's full reconciliation: when it runs on its own, whether extras at the target are deleted, how fast it reads.</summary>
public sealed record ReconcileOptions(Schedule? Schedule, bool DeleteExtra, int ReadsPerSecond)
{
    /// <summary>True when the flow's connector lists the target (a <c>list</c> operation): extras can be found, and deleted.</summary>
    public bool List { get; init; }

    /// <summary>The most pages of the target's list read in one run.</summary>
    public int MaxPages { get; init; } = 10_000;
}
