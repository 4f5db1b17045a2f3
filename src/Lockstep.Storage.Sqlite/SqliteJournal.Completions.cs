using Lockstep.Deliveries;

namespace Lockstep.Storage.Sqlite;

public sealed partial class SqliteJournal
{
    public async ValueTask CompleteAsync(IReadOnlyList<DeliveryCompletion> completions, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await WriteAsync((_, _, commands) =>
        {
            var stats = new Dictionary<string, FlowStats>(StringComparer.Ordinal);
            // Usually there are no dead letters at all: then no delivery has one to resolve.
            var anyDead = commands.AnyDeadLetter.ExecuteScalar() is 1L;
            foreach (var c in completions) anyDead |= Complete(commands, c, now, stats, anyDead);
            foreach (var (flow, s) in stats)
                commands.UpsertStats.With(flow, s.Delivered, s.Failed, s.LastSuccess, s.LastFailure, s.LastError).ExecuteNonQuery();
            return 0;
        }, cancellationToken, fenced: true).ConfigureAwait(false);
    }

    /// <returns>True when it wrote a dead letter.</returns>
    private bool Complete(Commands commands, DeliveryCompletion c, long now, Dictionary<string, FlowStats> stats, bool anyDead)
    {
        var d = c.Delivery;
        if (c.Kind != CompletionKind.Deferred)
        {
            commands.InsertAttempt.With(d.Flow, d.Entity, d.Key, d.Version, (long)d.Attempt, c.StartedAt.ToUnixTimeMilliseconds(),
                (long)(c.Duration.Ticks / 10), (long)c.Kind, c.StatusCode, c.Error).ExecuteNonQuery();
        }
        if (!stats.TryGetValue(d.Flow, out var s)) stats[d.Flow] = s = new FlowStats();
        switch (c.Kind)
        {
            case CompletionKind.Delivered:
            case CompletionKind.Skipped:
                commands.MarkDelivered.With(d.Id, d.Version, now).ExecuteNonQuery();
                if (_pairFlows.Count > 0) CompletePaired(commands, c);
                if (anyDead) commands.ResolveDeadLetters.With(d.Flow, d.Entity, d.Key, d.Version).ExecuteNonQuery();
                s.Delivered += c.Kind == CompletionKind.Delivered ? 1 : 0;
                s.LastSuccess = now;
                if (_rules.CompletionEvents) EmitCompletions(commands, d.Entity, d.Key, null, now);
                break;
            case CompletionKind.Retry:
                commands.MarkRetry.With(d.Id, c.DueAt.ToUnixTimeMilliseconds(), c.Error).ExecuteNonQuery();
                s.Failed++;
                s.LastFailure = now;
                s.LastError = c.Error;
                break;
            case CompletionKind.Dead:
                commands.InsertDeadLetter.With(d.Flow, d.System, d.Entity, d.Key, d.Version, d.EventId, d.EventType, (long)d.Attempt,
                    c.StatusCode, c.Error, now).ExecuteNonQuery();
                commands.MarkDead.With(d.Id, d.Version, now, c.Error).ExecuteNonQuery();
                s.Failed++;
                s.LastFailure = now;
                s.LastError = c.Error;
                if (_rules.CompletionEvents) EmitCompletions(commands, d.Entity, d.Key, (d.Flow, d.Version, c.Error), now);
                return true;
            case CompletionKind.Deferred:
                commands.MarkDeferred.With(d.Id, c.DueAt.ToUnixTimeMilliseconds()).ExecuteNonQuery();
                break;
        }
        return false;
    }

    private sealed class FlowStats
    {
        public long Delivered { get; set; }
        public long Failed { get; set; }
        public long? LastSuccess { get; set; }
        public long? LastFailure { get; set; }
        public string? LastError { get; set; }
    }
}
