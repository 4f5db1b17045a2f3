using Lockstep.Deliveries;
using Lockstep.Journal;
using Lockstep.Records;
using Npgsql;

namespace Lockstep.Storage.Postgres;

public sealed partial class PostgresJournal
{
    /// <summary>Due rows of one system, flagged in flight under this epoch and returned with their events, in one statement.</summary>
    private const string ClaimSql = """
        WITH picked AS (
            SELECT d.id FROM @.deliveries d
            WHERE d.system = @system AND d.state = 0 AND d.due_at <= @now AND d.flow = ANY(@flows)
              AND NOT EXISTS (SELECT 1 FROM @.held h WHERE h.flow = d.flow AND h.entity = d.entity AND h.key = d.key)
            ORDER BY d.due_at LIMIT @max FOR UPDATE SKIP LOCKED),
        claimed AS (
            UPDATE @.deliveries d SET state = 1, claim_epoch = @epoch FROM picked WHERE d.id = picked.id
            RETURNING d.id, d.flow, d.entity, d.key, d.version, d.attempts, d.repair, d.event_seq, d.due_at)
        SELECT c.id, c.flow, c.entity, c.key, c.version, c.attempts, c.repair, e.id, e.type, e.op, e.data, e.traceparent
        FROM claimed c JOIN @.events e ON e.seq = c.event_seq ORDER BY c.due_at, c.id
        """;

    public async ValueTask<IReadOnlyList<Delivery>> ClaimDueAsync(IReadOnlyList<ClaimQuota> quotas, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var at = now.ToUnixTimeMilliseconds();
        var wanted = quotas.Where(q => q.Max > 0 && _systemFlows.ContainsKey(q.System)).ToList();
        // The lease is checked even when nothing is wanted: a fenced process learns it at its next claim.
        var claimed = await WriteAsync(async (connection, transaction) =>
        {
            var deliveries = new List<Delivery>();
            if (wanted.Count == 0) return deliveries;
            await using var batch = new NpgsqlBatch(connection, transaction);
            foreach (var quota in wanted)
            {
                var claim = new NpgsqlBatchCommand(Sql(ClaimSql));
                claim.Parameters.AddWithValue("system", quota.System);
                claim.Parameters.AddWithValue("now", at);
                claim.Parameters.AddWithValue("flows", _systemFlows[quota.System]);
                claim.Parameters.AddWithValue("max", quota.Max);
                claim.Parameters.AddWithValue("epoch", _epoch);
                batch.BatchCommands.Add(claim);
            }
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            foreach (var quota in wanted)
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    deliveries.Add(new Delivery(reader.GetInt64(0), reader.GetString(1), quota.System, reader.GetString(2), reader.GetString(3),
                        reader.GetInt64(4), (RecordOp)reader.GetInt16(9), reader.GetString(7), reader.GetString(8),
                        reader.IsDBNull(10) ? null : reader.GetString(10), reader.GetInt32(5) + 1, reader.GetInt64(6))
                    {
                        TraceParent = reader.IsDBNull(11) ? null : reader.GetString(11),
                        Epoch = _epoch,
                    });
                }
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            }
            return deliveries;
        }, cancellationToken, fenced: true).ConfigureAwait(false);
        if (Sensitive is { } sensitive)
        {
            // Opened outside the write gate: decryption is per record and needs no journal state.
            for (var i = 0; i < claimed.Count; i++)
            {
                if (sensitive.Covers(claimed[i].Entity)) claimed[i] = claimed[i] with { Data = sensitive.Unprotect(claimed[i].Entity, claimed[i].Data) };
            }
        }
        return claimed;
    }

    public async ValueTask<DateTimeOffset?> NextDueAsync(IReadOnlyCollection<string> systems, CancellationToken cancellationToken)
    {
        var flows = systems.Where(_systemFlows.ContainsKey).SelectMany(s => _systemFlows[s]).ToArray();
        if (flows.Length == 0) return null;
        await using var connection = await ReadConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var next = Command("""
            SELECT MIN(due_at) FROM @.deliveries d WHERE d.state = 0 AND d.flow = ANY(@flows) AND d.system = ANY(@systems)
              AND NOT EXISTS (SELECT 1 FROM @.held h WHERE h.flow = d.flow AND h.entity = d.entity AND h.key = d.key)
            """, connection);
        next.Parameters.AddWithValue("flows", flows);
        next.Parameters.AddWithValue("systems", systems.ToArray());
        return await next.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long due ? DateTimeOffset.FromUnixTimeMilliseconds(due) : null;
    }

    /// <summary>Deliveries with their events, for reconciliation (data opened).</summary>
    private async Task<List<(Delivery Delivery, bool Delivered)>> LoadDeliveriesAsync(NpgsqlConnection connection, string flow, string where, Action<NpgsqlParameterCollection> parameters, CancellationToken cancellationToken)
    {
        await using var command = Command($"""
            SELECT d.id, d.system, d.entity, d.key, d.version, e.op, e.id, e.type, e.data, e.traceparent, d.state
            FROM @.deliveries d JOIN @.events e ON e.seq = d.event_seq WHERE d.flow = @flow AND {where}
            """, connection);
        command.Parameters.AddWithValue("flow", flow);
        parameters(command.Parameters);
        var list = new List<(Delivery, bool)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var entity = reader.GetString(2);
            list.Add((new Delivery(reader.GetInt64(0), flow, reader.GetString(1), entity, reader.GetString(3), reader.GetInt64(4), (RecordOp)reader.GetInt16(5),
                reader.GetString(6), reader.GetString(7), Open(entity, reader.IsDBNull(8) ? null : reader.GetString(8)), 1, 0)
            {
                TraceParent = reader.IsDBNull(9) ? null : reader.GetString(9),
            }, reader.GetInt16(10) == 2));
        }
        return list;
    }
}
