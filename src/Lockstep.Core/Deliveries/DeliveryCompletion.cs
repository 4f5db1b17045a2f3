namespace Lockstep.Deliveries;

/// <summary>The outcome of one attempt, ready to be committed with others in one journal transaction.</summary>
public sealed record DeliveryCompletion(
    Delivery Delivery,
    CompletionKind Kind,
    DateTimeOffset StartedAt,
    TimeSpan Duration,
    int? StatusCode,
    string? Error,
    DateTimeOffset DueAt)
{
    /// <summary>For flows of two-way pairs: the hash of what was written (see <see cref="Conflicts.RecordJson"/>), for echo suppression.</summary>
    public string? WrittenHash { get; init; }
}
