using System.Data.Common;
using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Records;

namespace Lockstep.Connectors.Sql;

/// <summary>
/// Batched flows (<c>batch: true</c>): a batch is one transaction holding one multi-row upsert per row shape (split to
/// stay within the database's parameter limit) and one guarded delete per deleted record. Per-record order: only the
/// newest version of each record in the batch is written (a later item wins a tie); the older ones are superseded, as
/// the version guard would make them anyway, and a delete can never be undone by an older upsert in the same batch.
/// Errors: a transient one (connection dropped, lock, timeout) retries every record of the batch; a permanent one
/// rolls the batch back and splits it in halves, again and again, so only the records that fail on their own go dead.
/// </summary>
internal sealed partial class SqlConnector
{
    public TimeSpan? Linger(FlowDefinition flow) => flow.Settings is SqlFlowOptions { Batch: true } settings ? settings.Linger : null;

    public int? MaxBatch(FlowDefinition flow) => (flow.Settings as SqlFlowOptions)?.BatchSize;

    public async ValueTask<IReadOnlyList<ConnectorResult>> ApplyBatchAsync(IReadOnlyList<BatchItem> items, FlowDefinition flow, CancellationToken cancellationToken)
    {
        var options = (SqlFlowOptions)flow.Settings!;
        var results = new ConnectorResult?[items.Count];
        var newest = Newest(items);
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionScope = connection.ConfigureAwait(false);
            var table = await database.TableAsync(connection, options.Table, cancellationToken).ConfigureAwait(false);
            if (table is null) return Same(items.Count, ConnectorResult.Permanent($"table '{options.Table}' does not exist"));
            var writes = new List<BatchWrite>(newest.Count);
            foreach (var i in newest.Values.Order())
            {
                var (write, invalid) = await PrepareAsync(connection, table, options, items[i], i).ConfigureAwait(false);
                if (write is null) results[i] = ConnectorResult.Permanent(Redact(invalid!));
                else writes.Add(write);
            }
            if (writes.Count > 0) await WriteAsync(connection, table, options, writes, results, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && database.Classify(e) is { } result)
        {
            // Opening the connection or reading the catalog failed: nothing was written.
            var failed = result with { Error = Redact(result.Error ?? "") };
            for (var i = 0; i < results.Length; i++) results[i] ??= failed;
        }
        for (var i = 0; i < items.Count; i++)
        {
            var winner = newest[(items[i].Delivery.Entity, items[i].Delivery.Key)];
            if (winner == i) continue;
            // Superseded by a newer version of the same record in this batch: done if that one landed, else left to it.
            results[i] = results[winner]!.Value.Kind == ResultKind.Success
                ? ConnectorResult.Success()
                : ConnectorResult.Skipped($"superseded by version {items[winner].Delivery.Version} in the same batch");
        }
        return [.. results.Select(r => r!.Value)];
    }

    // The item that stands for each record: the highest version, the later item on a tie.
    private static Dictionary<(string, string), int> Newest(IReadOnlyList<BatchItem> items)
    {
        var newest = new Dictionary<(string, string), int>();
        for (var i = 0; i < items.Count; i++)
        {
            var record = (items[i].Delivery.Entity, items[i].Delivery.Key);
            if (!newest.TryGetValue(record, out var at) || items[at].Delivery.Version <= items[i].Delivery.Version) newest[record] = i;
        }
        return newest;
    }

    private async ValueTask<(BatchWrite? Write, string? Invalid)> PrepareAsync(DbConnection connection, SqlTable table, SqlFlowOptions options, BatchItem item, int index)
    {
        if (item.Delivery.Op == RecordOp.Delete)
        {
            // Built once here only to find a delete that cannot be written (a key the columns cannot take) before the transaction.
            var probe = connection.CreateCommand();
            await using var probeScope = probe.ConfigureAwait(false);
            var why = SqlStatements.Delete(probe, database, table, options, item.Delivery);
            return why is null ? (new BatchWrite(index, item, null), null) : (null, why);
        }
        try
        {
            using var record = JsonDocument.Parse(item.Body);
            var (row, invalid) = SqlStatements.Row(database, table, options, item.Delivery, record.RootElement);
            return row is null ? (null, invalid) : (new BatchWrite(index, item, row), null);
        }
        catch (JsonException e)
        {
            return (null, $"the mapped record is not JSON: {e.Message}");
        }
    }

    /// <summary>Writes <paramref name="writes"/> in one transaction; on a permanent failure, each half again. False once a transient failure stopped it.</summary>
    private async Task<bool> WriteAsync(DbConnection connection, SqlTable table, SqlFlowOptions options, List<BatchWrite> writes, ConnectorResult?[] results,
        CancellationToken cancellationToken)
    {
        ConnectorResult failure;
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using var transactionScope = transaction.ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, table, options, writes, cancellationToken).ConfigureAwait(false);
            // Checkpoint: every row of this batch lands together or not at all; the version guards make a repeat a no-op.
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            foreach (var write in writes) results[write.Index] = ConnectorResult.Success();
            return true;
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && database.Classify(e) is { } result)
        {
            failure = result with { Error = Redact(result.Error ?? "") };
        }
        if (failure.Kind == ResultKind.Permanent && writes.Count > 1)
        {
            // One bad row fails the whole statement: find it by halves, so the good rows still land.
            var half = writes.Count / 2;
            return await WriteAsync(connection, table, options, writes[..half], results, cancellationToken).ConfigureAwait(false)
                && await WriteAsync(connection, table, options, writes[half..], results, cancellationToken).ConfigureAwait(false);
        }
        if (failure.Kind == ResultKind.Permanent) database.Forget(options.Table);
        foreach (var write in writes) results[write.Index] = failure;
        if (failure.Kind == ResultKind.Permanent) return true;
        // A transient failure (often a dropped connection): the records not tried yet wait for the batch's retry too.
        for (var i = 0; i < results.Length; i++) results[i] ??= failure;
        return false;
    }

    private async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, SqlTable table, SqlFlowOptions options, List<BatchWrite> writes,
        CancellationToken cancellationToken)
    {
        foreach (var shape in writes.Where(w => w.Row is not null).GroupBy(w => w.Row!.Shape, StringComparer.Ordinal))
        {
            var chunk = new List<SqlRow>();
            var parameters = 0;
            foreach (var write in shape)
            {
                if (chunk.Count > 0 && parameters + write.Row!.Parameters > database.MaxParameters)
                {
                    await UpsertAsync(connection, transaction, table, options, chunk, cancellationToken).ConfigureAwait(false);
                    chunk.Clear();
                    parameters = 0;
                }
                chunk.Add(write.Row!);
                parameters += write.Row!.Parameters;
            }
            await UpsertAsync(connection, transaction, table, options, chunk, cancellationToken).ConfigureAwait(false);
        }
        // Deletes touch other records than the upserts (one item per record), so their place in the transaction does not matter.
        foreach (var write in writes.Where(w => w.Row is null))
        {
            var command = connection.CreateCommand();
            await using var commandScope = command.ConfigureAwait(false);
            command.Transaction = transaction;
            if (SqlStatements.Delete(command, database, table, options, write.Item.Delivery) is { } invalid)
                throw new InvalidOperationException("a delete that was valid when prepared is not: " + invalid);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task UpsertAsync(DbConnection connection, DbTransaction transaction, SqlTable table, SqlFlowOptions options, List<SqlRow> rows,
        CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        await using var commandScope = command.ConfigureAwait(false);
        command.Transaction = transaction;
        SqlStatements.Upsert(command, database, table, options, rows);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static ConnectorResult[] Same(int count, ConnectorResult result)
    {
        var results = new ConnectorResult[count];
        Array.Fill(results, result);
        return results;
    }

    /// <summary>One record of a batch to write: a row to upsert, or (no row) a delete.</summary>
    private sealed record BatchWrite(int Index, BatchItem Item, SqlRow? Row);
}
