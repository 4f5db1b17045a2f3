using Lockstep.Status;

namespace Lockstep.Journal;

/// <summary>Read-only views for status and inspection; never on the delivery path.</summary>
public interface IJournalQueries
{
    ValueTask<IReadOnlyList<FlowCounters>> CountersAsync(CancellationToken cancellationToken);

    ValueTask<EventView?> GetEventAsync(string id, CancellationToken cancellationToken);
}
