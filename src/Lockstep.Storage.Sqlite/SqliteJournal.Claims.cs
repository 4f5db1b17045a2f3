using Lockstep.Deliveries;
using Lockstep.Journal;
using Lockstep.Records;

namespace Lockstep.Storage.Sqlite;

public sealed partial class SqliteJournal
{
    public async ValueTask<IReadOnlyList<Delivery>> ClaimDueAsync(IReadOnlyList<ClaimQuota> quotas, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var at = now.ToUnixTimeMilliseconds();
        // A claim needs no fsync: lost in a crash, its rows are still pending, and OpenAsync makes claimed rows due again
        // anyway. The next durable commit's fsync covers it, as WAL frames are written in order.
        var claimed = await WriteAsync((_, _, commands) =>
        {
            var deliveries = new List<Delivery>();
            foreach (var quota in quotas)
            {
                if (!commands.Claim.TryGetValue(quota.System, out var claim)) continue;
                claim.Parameters["$now"].Value = at;
                claim.Parameters["$max"].Value = quota.Max;
                using var reader = claim.ExecuteReader();
                while (reader.Read())
                {
                    deliveries.Add(new Delivery(reader.GetInt64(0), reader.GetString(1), quota.System, reader.GetString(2), reader.GetString(3),
                        reader.GetInt64(4), (RecordOp)reader.GetInt64(9), reader.GetString(7), reader.GetString(8),
                        reader.IsDBNull(10) ? null : reader.GetString(10), reader.GetInt32(5) + 1, reader.GetInt64(6))
                    {
                        TraceParent = reader.IsDBNull(11) ? null : reader.GetString(11),
                        Epoch = _epoch,
                    });
                }
            }
            if (deliveries.Count > 0)
                commands.MarkClaimed.With("[" + string.Join(',', deliveries.Select(d => d.Id)) + "]", _epoch).ExecuteNonQuery();
            return deliveries;
        }, cancellationToken, durable: false, fenced: true).ConfigureAwait(false);
        if (Sensitive is { } sensitive)
        {
            // Opened outside the write lock: decryption is per record and needs no journal state.
            for (var i = 0; i < claimed.Count; i++)
            {
                if (sensitive.Covers(claimed[i].Entity)) claimed[i] = claimed[i] with { Data = sensitive.Unprotect(claimed[i].Entity, claimed[i].Data) };
            }
        }
        return claimed;
    }

    private Delivery Load(Commands commands, long id, string flow, string system, string entity, string key, long version, long seq, int attempt, long repair)
    {
        using var reader = commands.LoadEvent.With(seq).ExecuteReader();
        if (!reader.Read()) throw new InvalidOperationException($"journal corrupt: delivery {id} points at missing event {seq}");
        return new Delivery(id, flow, system, entity, key, version, (RecordOp)reader.GetInt64(2),
            reader.GetString(0), reader.GetString(1), Open(entity, reader.IsDBNull(3) ? null : reader.GetString(3)), attempt, repair)
        {
            TraceParent = reader.IsDBNull(4) ? null : reader.GetString(4),
        };
    }

    private string? Open(string entity, string? data) => Sensitive is null ? data : Sensitive.Unprotect(entity, data);

    public async ValueTask<DateTimeOffset?> NextDueAsync(IReadOnlyCollection<string> systems, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long? earliest = null;
            foreach (var system in systems)
            {
                if (_commands is null || !_commands.NextDue.TryGetValue(system, out var next)) continue;
                next.Transaction = null;
                if (next.ExecuteScalar() is long due && (earliest is null || due < earliest)) earliest = due;
            }
            return earliest is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
        }
        finally
        {
            _gate.Release();
        }
    }
}
