using Lockstep.Deliveries;

namespace Lockstep.Reconciliation;

/// <summary>A record the flow knows (for list reconciliation): its newest version and whether that version is settled as delivered.</summary>
public sealed record FlowRecord(Delivery Delivery, bool Delivered);
