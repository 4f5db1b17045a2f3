namespace Lockstep.Sources;

/// <summary>
/// How an inbound webhook was answered: 2xx once journaled (or a recognised replay), 401 for a bad signature, 400 for a
/// bad body or header (<see cref="Field"/> names which; null for the body).
/// </summary>
public sealed record WebhookOutcome(int Status, string? Error, bool Duplicate, string? Field = null);
