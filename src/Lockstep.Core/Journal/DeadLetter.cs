namespace Lockstep.Journal;

/// <summary>One version of one record that a flow could not deliver, and why (secrets already redacted).</summary>
public sealed record DeadLetter(
    long Id, string Flow, string System, string Entity, string Key, long Version, string EventId, string EventType,
    int Attempts, int? StatusCode, string? Error, DateTimeOffset DeadAt);
