using Lockstep.Scheduling;

namespace Lockstep.Reconciliation;

/// <summary>A flow's full reconciliation: when it runs on its own, whether extras at the target are deleted, how fast it reads.</summary>
public sealed record ReconcileOptions(Schedule? Schedule, bool DeleteExtra, int ReadsPerSecond);
