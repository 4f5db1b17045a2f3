namespace Lockstep.Deliveries;

/// <summary>The outcome of one attempt, ready to be committed with others in one journal transaction.</summary>
public sealed record DeliveryCompletion(
    Delivery Delivery,
    CompletionKind Kind,
    DateTimeOffset StartedAt,
    TimeSpan Duration,
    int? StatusCode,
    string? Error,
    DateTimeOffset DueAt);
