using System.Text;
using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Deliveries;
using Lockstep.Host;
using Lockstep.Records;
using Lockstep.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Lockstep.Tests.Connectors.Sql;

/// <summary>Real PostgreSQL (from ./test.sh) and SQLite files for the SQL connector tests: unique tables, direct queries, a connector built from YAML.</summary>
internal static class SqlTestKit
{
    public static IReadOnlyDictionary<string, string> Env => new Dictionary<string, string> { ["GIS_DB"] = TestServers.Postgres };

    public static string Table(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    public static async Task PgAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(TestServers.Postgres + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<List<object?[]>> PgRowsAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(TestServers.Postgres + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await RowsAsync(await command.ExecuteReaderAsync());
    }

    public static async Task SqliteAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<List<object?[]>> SqliteRowsAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await RowsAsync(await command.ExecuteReaderAsync());
    }

    private static async Task<List<object?[]>> RowsAsync(System.Data.Common.DbDataReader reader)
    {
        await using (reader)
        {
            var rows = new List<object?[]>();
            while (await reader.ReadAsync())
            {
                var row = new object?[reader.FieldCount];
                for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                rows.Add(row);
            }
            return rows;
        }
    }

    /// <summary>The connector of the config's first flow, built as the engine builds it, for retry and reordering cases one engine cannot produce.</summary>
    public static (IConnector Connector, FlowDefinition Flow) Connector(string yaml, string folder)
    {
        var config = TestEngine.Load(yaml, folder, Env);
        var flow = config.Flows[0];
        var system = config.Systems[flow.System];
        var factory = LockstepServiceCollectionExtensions.ConnectorFactories.Single(f => f.Type == system.Type);
        return (factory.Create(system, new ConnectorContext(TimeProvider.System, NullLoggerFactory.Instance, config.Secrets)), flow);
    }

    public static Delivery Delivery(FlowDefinition flow, string key, long version, RecordOp op = RecordOp.Upsert) =>
        new(version, flow.Name, flow.System, "permit", key, version, op, $"permit:{key}:{version}", "permitApproved", null, 1);

    public static ReadOnlyMemory<byte> Json(string json) => Encoding.UTF8.GetBytes(json);
}
