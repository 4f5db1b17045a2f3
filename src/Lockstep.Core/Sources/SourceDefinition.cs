using Lockstep.Scheduling;

namespace Lockstep.Sources;

/// <summary>
/// A validated source. For polls: the system to GET from, the request (<c>{cursor}</c> filled in), the schedule, the
/// overlap window re-read at each run, and a page limit. For webhooks: the verification.
/// </summary>
public sealed record SourceDefinition(
    string Name,
    SourceKind Kind,
    string? System,
    string? Request,
    Schedule? Schedule,
    TimeSpan Overlap,
    int MaxPages,
    ItemShape Shape,
    WebhookVerification? Verification,
    int Line)
{
    /// <summary>For a broker subscription: its connector's own settings (subject, queue or topic, consumer name, prefetch).</summary>
    public object? Settings { get; init; }
}
