using Lockstep.Journal;

namespace Lockstep.Storage.Postgres;

public sealed partial class PostgresJournal : IRetentionStore
{
    // An event is kept while anything may still need it: the current version of its record, a delivery of it that is
    // not done (pending, in flight, dead), a dead letter naming it, or a completion still being tracked.
    private const string PruneEvents = """
        DELETE FROM @.events WHERE seq IN (
            SELECT e.seq FROM @.events e
            WHERE e.received_at < @cutoff
              AND e.completion NOT IN (1, 3)
              AND NOT EXISTS (SELECT 1 FROM @.records r WHERE r.entity = e.entity AND r.key = e.key AND r.event_seq = e.seq)
              AND NOT EXISTS (SELECT 1 FROM @.deliveries d WHERE d.event_seq = e.seq AND d.state <> 2)
              AND NOT EXISTS (SELECT 1 FROM @.dead_letters x WHERE x.event_id = e.id)
            ORDER BY e.received_at LIMIT @batch)
        """;

    private const string PruneAttempts = "DELETE FROM @.attempts WHERE id IN (SELECT id FROM @.attempts WHERE started_at < @cutoff ORDER BY started_at LIMIT @batch)";

    private const string PruneAudit = "DELETE FROM @.audit WHERE id IN (SELECT id FROM @.audit WHERE at < @cutoff ORDER BY at LIMIT @batch)";

    public async ValueTask<PruneResult> PruneAsync(RetentionPolicy policy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var events = policy.Events is { } e ? await PruneTableAsync(PruneEvents, now - e, cancellationToken).ConfigureAwait(false) : 0;
        var attempts = policy.Attempts is { } a ? await PruneTableAsync(PruneAttempts, now - a, cancellationToken).ConfigureAwait(false) : 0;
        var audit = policy.Audit is { } u ? await PruneTableAsync(PruneAudit, now - u, cancellationToken).ConfigureAwait(false) : 0;
        return new PruneResult(events, attempts, audit);
    }

    private async Task<long> PruneTableAsync(string sql, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        long total = 0;
        for (var batch = 0; batch < RetentionPolicy.MaxBatches; batch++)
        {
            // One short transaction per batch: intake and deliveries get the write gate between batches.
            var deleted = await WriteAsync(async (connection, transaction) =>
            {
                await using var command = Command(sql, connection, transaction);
                command.Parameters.AddWithValue("cutoff", cutoff.ToUnixTimeMilliseconds());
                command.Parameters.AddWithValue("batch", RetentionPolicy.BatchSize);
                return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
            total += deleted;
            if (deleted < RetentionPolicy.BatchSize) break;
        }
        return total;
    }
}
