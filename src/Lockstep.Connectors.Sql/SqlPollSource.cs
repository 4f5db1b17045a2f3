using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using Lockstep.Sources;

namespace Lockstep.Connectors.Sql;

/// <summary>
/// <c>type: sql-poll</c>: reads a table (or a query with a <c>{cursor}</c> parameter) in pages of
/// <c>WHERE cursor &gt;= @cursor ORDER BY cursor, key LIMIT n</c>, the next page continuing after the last row's
/// (cursor, key), so equal cursor values across a page boundary are neither skipped nor read twice. Items are rows as
/// JSON objects keyed by column.
/// </summary>
internal sealed class SqlPollSource(SourceDefinition source, SqlDatabase database, ConnectorContext context) : ISource
{
    private IReadOnlyList<SqlColumn>? _described;

    public async ValueTask<SourceFetch> FetchAsync(string cursor, string? nextPage, CancellationToken cancellationToken)
    {
        var cursorName = source.Shape.CursorField!;
        var keyName = source.Shape.KeyField!;
        try
        {
            var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionScope = connection.ConfigureAwait(false);
            IReadOnlyList<SqlColumn>? columns;
            string inner;
            if (source.Table is { } tableName)
            {
                var table = await database.TableAsync(connection, tableName, cancellationToken).ConfigureAwait(false);
                if (table is null) return SourceFetch.Failed($"table '{tableName}' does not exist");
                columns = [.. table.Columns.Values];
                inner = $"SELECT {string.Join(", ", columns.Select(c => database.Select(c, "")))} FROM {table.Quoted}";
            }
            else
            {
                inner = source.Request!.Replace("{cursor}", "@cursor", StringComparison.Ordinal);
                columns = database.Family is SqlFamily.Postgres or SqlFamily.MySql ? _described ??= await DescribeAsync(connection, inner, cancellationToken).ConfigureAwait(false) : null;
            }
            var cursorColumn = Find(columns, cursorName);
            var keyColumn = Find(columns, keyName);
            if (columns is not null && (cursorColumn is null || keyColumn is null))
                return SourceFetch.Failed($"the {(source.Table is null ? "query" : "table")} has no column '{(cursorColumn is null ? cursorName : keyName)}'");

            var command = connection.CreateCommand();

            await using var commandScope = command.ConfigureAwait(false);
            var c = "q." + SqlDatabase.Quote(cursorName);
            var k = "q." + SqlDatabase.Quote(keyName);
            var sql = $"SELECT * FROM ({inner}) AS q WHERE {c} >= @cursor";
            command.Parameters.Add(database.Parameter("@cursor", cursorColumn ?? Loose, CursorValue(cursor, cursorColumn)));
            if (nextPage is not null)
            {
                using var after = JsonDocument.Parse(nextPage);
                command.Parameters.Add(database.Parameter("@after", cursorColumn ?? Loose, Value(after.RootElement[0], cursorColumn)));
                command.Parameters.Add(database.Parameter("@afterKey", keyColumn ?? Loose, Value(after.RootElement[1], keyColumn)));
                sql += $" AND ({c} > @after OR ({c} = @after AND {k} > @afterKey))";
            }
            command.CommandText = sql + $" ORDER BY {c}, {k} LIMIT {source.PageSize.ToString(CultureInfo.InvariantCulture)}";

            var items = new List<string>();
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                var shape = columns is not null && source.Table is not null ? columns
                    : [.. Enumerable.Range(0, reader.FieldCount).Select(i => new SqlColumn(reader.GetName(i), database.KindOf(reader.GetDataTypeName(i)), reader.GetDataTypeName(i)))];
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) items.Add(SqlRows.Json(reader, shape));
            }
            return new SourceFetch(items, items.Count < source.PageSize ? null : NextPage(items[^1], cursorName, keyName), null);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && database.Classify(e) is { } result)
        {
            if (result.Kind == ResultKind.Permanent && source.Table is not null) database.Forget(source.Table);
            return SourceFetch.Failed(Redact(result.Error ?? ""));
        }
        catch (FormatException e)
        {
            return SourceFetch.Failed(Redact(e.Message));
        }
        catch (Exception e) when (e is InvalidCastException or NotSupportedException)
        {
            return SourceFetch.Failed(Redact($"a column cannot be read ({e.Message}); select it as text, e.g. ST_AsGeoJSON(geom)::json AS geom"));
        }
    }

    // SQLite compares by value across storage classes: a number cursor as a number, anything else as text.
    private static readonly SqlColumn Loose = new("", ColumnKind.Other, "");

    private static SqlColumn? Find(IReadOnlyList<SqlColumn>? columns, string name) => columns?.FirstOrDefault(c => c.Name == name);

    private object? CursorValue(string cursor, SqlColumn? column)
    {
        if (cursor.Length > 0)
        {
            var number = long.TryParse(cursor, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n);
            return Value(number && column is null ? SqlValues.Number(n) : SqlValues.Text(cursor), column);
        }
        // The first run reads from the beginning: the smallest value of the cursor's type.
        return column?.Kind switch
        {
            null => long.MinValue,
            ColumnKind.Integer => long.MinValue,
            ColumnKind.Numeric => decimal.MinValue,
            ColumnKind.Float => double.MinValue,
            ColumnKind.Timestamp => DateTime.SpecifyKind(DateTime.MinValue, DateTimeKind.Utc),
            ColumnKind.LocalTimestamp => DateTime.MinValue,
            ColumnKind.Date => DateOnly.MinValue,
            ColumnKind.Text => "",
            _ => null,
        };
    }

    private object? Value(JsonElement value, SqlColumn? column)
    {
        var (converted, error) = SqlValues.Convert(value, column ?? Loose, database.Family);
        return error is null ? converted : throw new FormatException($"the cursor does not fit: {error}");
    }

    private async Task<IReadOnlyList<SqlColumn>> DescribeAsync(DbConnection connection, string query, CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        await using var commandScope = command.ConfigureAwait(false);
        command.CommandText = query;
        command.Parameters.Add(database.Parameter("@cursor", Loose, null));
        var reader = await command.ExecuteReaderAsync(CommandBehavior.SchemaOnly, cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        return [.. Enumerable.Range(0, reader.FieldCount).Select(i => new SqlColumn(reader.GetName(i), database.KindOf(reader.GetDataTypeName(i)), reader.GetDataTypeName(i)))];
    }

    private static string NextPage(string lastItem, string cursorName, string keyName)
    {
        using var row = JsonDocument.Parse(lastItem);
        return $"[{row.RootElement.GetProperty(cursorName).GetRawText()},{row.RootElement.GetProperty(keyName).GetRawText()}]";
    }

    private string Redact(string text) => context.Secrets.Redact(text) ?? "";

    public ValueTask DisposeAsync() => database.DisposeAsync();
}
