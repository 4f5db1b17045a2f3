using Lockstep.Deliveries;

namespace Lockstep.Configuration;

/// <summary>A route from events to one system, validated. <see cref="Settings"/> belongs to the system's connector type.</summary>
public sealed record FlowDefinition(
    string Name,
    string System,
    IReadOnlySet<string> Types,
    IReadOnlySet<string> Entities,
    string? Filter,
    string? Map,
    RetryPolicy Retry,
    IReadOnlyDictionary<string, string> Headers,
    object? Settings,
    int Line)
{
    /// <summary>Full reconciliation settings, when the flow has <c>reconcile:</c>.</summary>
    public Reconciliation.ReconcileOptions? Reconcile { get; init; }

    /// <summary>Fields sealed with AES-256-GCM before they leave, when the flow has <c>encrypt:</c>.</summary>
    public Encryption.EncryptOptions? Encrypt { get; init; }

    /// <summary>Routing is by event type and/or entity only, so it is cheap at intake; <see cref="Filter"/> runs at delivery.</summary>
    public bool Accepts(string type, string entity) =>
        (Types.Count == 0 || Types.Contains(type)) && (Entities.Count == 0 || Entities.Contains(entity));
}
