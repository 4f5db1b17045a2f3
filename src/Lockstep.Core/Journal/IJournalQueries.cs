using Lockstep.Status;

namespace Lockstep.Journal;

/// <summary>Read-only views for status and inspection; never on the delivery path.</summary>
public interface IJournalQueries
{
    ValueTask<IReadOnlyList<FlowCounters>> CountersAsync(CancellationToken cancellationToken);

    ValueTask<EventView?> GetEventAsync(string id, CancellationToken cancellationToken);

    ValueTask<RecordHistory> RecordHistoryAsync(string entity, string key, CancellationToken cancellationToken);

    /// <summary>Records an operator action (replay, drop, sync) durably.</summary>
    ValueTask AuditAsync(string actor, string action, string? target, string? detail, DateTimeOffset at, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<AuditEntry>> AuditLogAsync(int limit, CancellationToken cancellationToken);
}
