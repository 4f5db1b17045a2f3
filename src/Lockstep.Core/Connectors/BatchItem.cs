using Lockstep.Deliveries;

namespace Lockstep.Connectors;

/// <summary>One record version in a batch: the delivery and its mapped record as UTF-8 JSON.</summary>
public readonly record struct BatchItem(Delivery Delivery, ReadOnlyMemory<byte> Body);
