namespace Lockstep.Configuration;

/// <summary>
/// At most <see cref="Requests"/> requests to a system per <see cref="Per"/> (a token bucket refilled each period). A
/// delivery waiting for its turn is not a failure: it waits before its attempt and its timeout start.
/// </summary>
public sealed record RateLimitOptions(int Requests, TimeSpan Per);
