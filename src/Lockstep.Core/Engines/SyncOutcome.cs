namespace Lockstep.Engines;

/// <summary>What a manual sync did: the source's or flow's own summary, and for a full sync the drift report.</summary>
public sealed record SyncOutcome(string Name, string Kind, string Outcome, Reconciliation.ReconcileReport? Report);
