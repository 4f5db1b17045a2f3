using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Records;

namespace Lockstep.Connectors.Sql;

/// <summary>
/// Writes records into a table of a PostgreSQL or SQLite database: an upsert by key that only ever moves a row to a
/// newer version (a retry, a duplicate or a late older version changes nothing), and a delete (or soft delete) that
/// never removes a newer version. Failures are classified: the server gone, contention or exhaustion are transient;
/// constraint violations, missing tables or columns and values the column cannot take are permanent.
/// </summary>
internal sealed partial class SqlConnector(SqlDatabase database, ConnectorContext context) : IConnector, IBatchConnector
{
    public async ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var options = (SqlFlowOptions)flow.Settings!;
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionScope = connection.ConfigureAwait(false);
            var table = await database.TableAsync(connection, options.Table, cancellationToken).ConfigureAwait(false);
            if (table is null) return ConnectorResult.Permanent($"table '{options.Table}' does not exist");
            var command = connection.CreateCommand();
            await using var commandScope = command.ConfigureAwait(false);
            string? invalid;
            if (delivery.Op == RecordOp.Delete) invalid = SqlStatements.Delete(command, database, table, options, delivery);
            else
            {
                using var record = JsonDocument.Parse(body);
                invalid = SqlStatements.Upsert(command, database, table, options, delivery, record.RootElement);
            }
            if (invalid is not null) return ConnectorResult.Permanent(Redact(invalid));
            // Checkpoint: one statement, committed by the database on its own; the version guard makes a repeat a no-op.
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return ConnectorResult.Success();
        }
        catch (JsonException e)
        {
            return ConnectorResult.Permanent($"the mapped record is not JSON: {e.Message}");
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && database.Classify(e) is { } result)
        {
            // The table may have changed under us (a column added or dropped): read its catalog again next time.
            if (result.Kind == ResultKind.Permanent) database.Forget(options.Table);
            return result with { Error = Redact(result.Error ?? "") };
        }
    }

    public async ValueTask<TargetRead> ReadAsync(Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken)
    {
        var options = (SqlFlowOptions)flow.Settings!;
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionScope = connection.ConfigureAwait(false);
            var table = await database.TableAsync(connection, options.Table, cancellationToken).ConfigureAwait(false);
            if (table is null) return TargetRead.Failed($"table '{options.Table}' does not exist");
            var command = connection.CreateCommand();
            await using var commandScope = command.ConfigureAwait(false);
            if (SqlStatements.Read(command, database, table, options, delivery) is { } invalid) return TargetRead.Failed(Redact(invalid));
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return TargetRead.Missing;
            var columns = table.Columns.Values.ToList();
            // A soft-deleted row is, for reconciliation, a record the target no longer holds.
            if (options.SoftDelete is { } softDelete && columns.FindIndex(c => c.Name == softDelete) is var at and >= 0
                && !reader.IsDBNull(at) && Convert.ToBoolean(reader.GetValue(at), System.Globalization.CultureInfo.InvariantCulture))
                return TargetRead.Missing;
            return TargetRead.Found(SqlRows.Json(reader, columns));
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && database.Classify(e) is { } result)
        {
            return TargetRead.Failed(Redact(result.Error ?? ""));
        }
    }

    private string Redact(string text) => context.Secrets.Redact(text) ?? "";

    public ValueTask DisposeAsync() => database.DisposeAsync();
}
