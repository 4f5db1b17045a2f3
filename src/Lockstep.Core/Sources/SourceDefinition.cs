using Lockstep.Scheduling;

namespace Lockstep.Sources;

/// <summary>
/// A validated source. For polls: the system to read from, the request or query (<c>{cursor}</c> filled in), the schedule, the
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
    /// <summary>For <c>sql-poll</c>: the table read (else <see cref="Request"/> holds the query, <c>{cursor}</c> its parameter).</summary>
    public string? Table { get; init; }

    /// <summary>For <c>sql-poll</c>: rows per page.</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>For polls: what a full run does with records the source no longer returns.</summary>
    public VanishedPolicy Vanished { get; init; }

    /// <summary>For a broker subscription: its connector's own settings (subject, queue or topic, consumer name, prefetch).</summary>
    public object? Settings { get; init; }
}
