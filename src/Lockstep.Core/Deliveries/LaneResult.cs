using Lockstep.Connectors;

namespace Lockstep.Deliveries;

/// <summary>A connector's result, or, when the circuit refused the call, how long until it may be tried.</summary>
internal readonly record struct LaneResult(ConnectorResult Result, TimeSpan? CircuitRetryAfter);
