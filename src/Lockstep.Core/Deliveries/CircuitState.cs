namespace Lockstep.Deliveries;

/// <summary>A system's circuit as shown in status: closed (normal), open (paused), half-open (probing).</summary>
public enum CircuitState
{
    Closed = 0,
    Open = 1,
    HalfOpen = 2,
}
