namespace Lockstep.Journal;

/// <summary>
/// The identity map of flows whose target assigns its own ids (a CRM's contact id, an ArcGIS objectId): for each
/// (flow, entity, key), the id the target gave the record. Each write is its own durable commit, made right after the
/// target answered, so a crash loses at most the id of one request in flight (which the connector finds again by lookup).
/// </summary>
public interface IIdentityStore
{
    /// <summary>The target's id for the record on this flow; null when none is known.</summary>
    ValueTask<string?> FindIdAsync(string flow, string entity, string key, CancellationToken cancellationToken);

    /// <summary>Stores (or replaces) the target's id for the record on this flow.</summary>
    ValueTask SaveIdAsync(string flow, string entity, string key, string targetId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Forgets the record's id on this flow (deleted at the target, or gone from it); false when none was known.</summary>
    ValueTask<bool> ForgetIdAsync(string flow, string entity, string key, CancellationToken cancellationToken);

    /// <summary>The record's target id on every flow that knows one, by flow name (record history).</summary>
    ValueTask<IReadOnlyDictionary<string, string>> IdsOfRecordAsync(string entity, string key, CancellationToken cancellationToken);
}
