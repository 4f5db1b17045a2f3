namespace Lockstep.Journal;

/// <summary>How many due deliveries of one system the delivery loop can take now.</summary>
public readonly record struct ClaimQuota(string System, int Max);
