namespace Lockstep.Journal;

/// <summary>One recorded attempt: when, how long, how it ended.</summary>
public sealed record AttemptView(
    long Version, int Attempt, DateTimeOffset StartedAt, double DurationMs, string Outcome, int? StatusCode, string? Error);
