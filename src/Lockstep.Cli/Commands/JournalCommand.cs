using System.CommandLine;
using System.Globalization;
using System.Text;
using Lockstep.Storage.Postgres;
using Lockstep.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Lockstep.Cli.Commands;

/// <summary>
/// <c>lockstep journal copy --from sqlite:PATH --to postgres:env:VAR</c>: moves a stopped SQLite journal into an empty
/// PostgreSQL journal, everything at once in one transaction: events and records, pending deliveries with their retry
/// schedule, dead letters, cursors, two-way state and conflicts, attempts, audit, reconciliation reports and counters,
/// operators' pauses, the identity map (target ids) and backfill progress.
/// Deliveries that were in flight become due again. The connection string is read from an environment variable, so
/// its password is never on a command line.
/// </summary>
internal static class JournalCommand
{
    /// <summary>Tables in the order they are copied, with the columns both schemas share.</summary>
    private static readonly (string Table, string Columns)[] Tables =
    [
        ("events", "seq, id, type, entity, key, version, op, data, received_at, status, flows, completion, traceparent"),
        ("records", "entity, key, version, op, event_seq"),
        ("deliveries", "id, flow, system, entity, key, version, event_seq, version_at, state, due_at, attempts, delivered_version, pending_since, last_error, repair, claim_epoch"),
        ("attempts", "id, flow, entity, key, version, attempt, started_at, duration_us, outcome, status_code, error"),
        ("dead_letters", "id, flow, system, entity, key, version, event_id, event_type, attempts, status_code, error, dead_at"),
        ("flow_stats", "flow, delivered, failed, last_success_at, last_failure_at, last_error"),
        ("cursors", "source, cursor, next_page, updated_at"),
        ("reconcile_runs", "id, flow, started_at, finished_at, checked, missing, different, extra, repaired, failed, sample"),
        ("audit", "id, at, actor, action, target, detail"),
        ("sync_state", "pair, entity, key, base, base_op, source_hash, target_hash, source_pending, target_pending, source_seen, target_seen"),
        ("conflicts", "id, pair, entity, key, policy, detected_at, base, source_data, source_deleted, target_data, target_deleted, outcome, result, detail, resolved_at, resolved_by"),
        ("held", "flow, entity, key, conflict_id"),
        ("pauses", "kind, name, paused_by, paused_at, reason"),
        ("identities", "flow, entity, key, target_id, saved_at"),
        ("backfills", "flow, after_entity, after_key, checked, sent, started_at, finished_at"),
        ("flows_seen", "flow"),
    ];

    private static readonly string[] Identities = ["deliveries", "attempts", "dead_letters", "reconcile_runs", "audit", "conflicts"];

    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "The SQLite journal: sqlite:PATH (stop Lockstep first)", Required = true };
        var to = new Option<string>("--to") { Description = "The PostgreSQL journal: postgres:env:VAR, the connection string (with ;Schema=NAME or ?schema=NAME) in $VAR", Required = true };
        var copy = new Command("copy", "Copy a SQLite journal into an empty PostgreSQL journal") { from, to };
        copy.SetAction(async (result, cancellationToken) =>
        {
            try
            {
                var source = Source(result.GetValue(from)!);
                var target = Target(result.GetValue(to)!);
                var counts = await CopyAsync(source, target, cancellationToken);
                foreach (var (table, count) in counts) Console.WriteLine($"{table}: {count.ToString("N0", CultureInfo.InvariantCulture)}");
                Console.WriteLine($"copied into schema '{target.Schema}'; in-flight deliveries are due again; point storage: at it and start Lockstep");
                return 0;
            }
            catch (Exception e) when (e is InvalidOperationException or SqliteException or IOException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
            catch (NpgsqlException e)
            {
                // The server's message (not the connection string).
                Console.Error.WriteLine($"error: PostgreSQL: {e.Message}");
                return 1;
            }
        });
        return new Command("journal", "Work on a journal's storage") { copy };
    }

    private static string Source(string value)
    {
        if (!value.StartsWith(SqliteJournalProvider.Prefix, StringComparison.Ordinal) || value.Length == SqliteJournalProvider.Prefix.Length)
            throw new InvalidOperationException("--from: write sqlite:PATH");
        var path = Path.GetFullPath(value[SqliteJournalProvider.Prefix.Length..]);
        if (!File.Exists(path)) throw new InvalidOperationException($"--from: no journal at {path}");
        return path;
    }

    private static PostgresLocation Target(string value)
    {
        const string prefix = PostgresLocation.Prefix + "env:";
        if (!value.StartsWith(prefix, StringComparison.Ordinal) || value.Length == prefix.Length)
            throw new InvalidOperationException("--to: write postgres:env:VAR (the connection string is read from the environment variable VAR)");
        var name = value[prefix.Length..];
        var connection = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(connection)) throw new InvalidOperationException($"--to: the environment variable {name} is not set");
        return PostgresLocation.Parse(PostgresLocation.Prefix + connection);
    }

    public static async Task<List<(string Table, long Count)>> CopyAsync(string sqlitePath, PostgresLocation target, CancellationToken cancellationToken)
    {
        await using var sqlite = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = sqlitePath, Mode = SqliteOpenMode.ReadOnly }.ToString());
        await sqlite.OpenAsync(cancellationToken);
        await using (var version = sqlite.CreateCommand())
        {
            version.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
            var current = Convert.ToInt32(await version.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
            if (current != SqliteJournal.LatestSchemaVersion)
                throw new InvalidOperationException($"the SQLite journal has schema version {current}, this Lockstep copies version {SqliteJournal.LatestSchemaVersion}: run this Lockstep on it once first");
        }
        // One snapshot of the SQLite file for the whole copy.
        await using var read = (SqliteTransaction)await sqlite.BeginTransactionAsync(cancellationToken);

        await PostgresJournal.CreateSchemaAsync(target, cancellationToken);
        var schema = "\"" + target.Schema + "\"";
        await using var pg = new NpgsqlConnection(target.ConnectionString);
        await pg.OpenAsync(cancellationToken);
        await using var write = await pg.BeginTransactionAsync(cancellationToken);
        await using (var empty = new NpgsqlCommand($"SELECT EXISTS(SELECT 1 FROM {schema}.events) OR EXISTS(SELECT 1 FROM {schema}.deliveries) OR EXISTS(SELECT 1 FROM {schema}.cursors)", pg, write))
        {
            if (await empty.ExecuteScalarAsync(cancellationToken) is true)
                throw new InvalidOperationException($"the PostgreSQL journal in schema '{target.Schema}' is not empty: copy into a new schema");
        }
        var counts = new List<(string, long)>();
        foreach (var (table, columns) in Tables)
        {
            await using var select = sqlite.CreateCommand();
            select.Transaction = read;
            select.CommandText = $"SELECT {columns} FROM {table}";
            long count = 0;
            await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
            await using (var copy = await pg.BeginTextImportAsync($"COPY {schema}.{table}({columns}) FROM STDIN", cancellationToken))
            {
                var line = new StringBuilder();
                var deliveries = table == "deliveries";
                while (await reader.ReadAsync(cancellationToken))
                {
                    line.Clear();
                    for (var i = 0; i < reader.FieldCount; i++)
                    {
                        if (i > 0) line.Append('\t');
                        var name = reader.GetName(i);
                        // In flight in a stopped process: due again under the new journal's first lease.
                        if (deliveries && name == "state" && reader.GetInt64(i) == 1) line.Append('0');
                        else if (deliveries && name == "claim_epoch") line.Append('0');
                        else Append(line, reader.IsDBNull(i) ? null : reader.GetValue(i));
                    }
                    line.Append('\n');
                    await copy.WriteAsync(line.ToString());
                    count++;
                }
            }
            counts.Add((table, count));
        }
        await using (var sequences = new NpgsqlCommand(SequenceResets(schema), pg, write))
            await sequences.ExecuteNonQueryAsync(cancellationToken);
        // Checkpoint: nothing is visible in PostgreSQL until this commit; a failed copy leaves the schema empty.
        await write.CommitAsync(cancellationToken);
        return counts;
    }

    private static string SequenceResets(string schema)
    {
        var sql = new StringBuilder($"SELECT setval('{schema}.events_seq', COALESCE((SELECT MAX(seq) FROM {schema}.events), 0) + 1, false);");
        foreach (var table in Identities)
            sql.Append(CultureInfo.InvariantCulture, $"SELECT setval(pg_get_serial_sequence('{schema}.{table}', 'id'), COALESCE((SELECT MAX(id) FROM {schema}.{table}), 0) + 1, false);");
        return sql.ToString();
    }

    /// <summary>One value in COPY's text format: \N for null, backslash escapes for the separators.</summary>
    private static void Append(StringBuilder line, object? value)
    {
        switch (value)
        {
            case null:
                line.Append("\\N");
                break;
            case long number:
                line.Append(number.ToString(CultureInfo.InvariantCulture));
                break;
            case double real:
                line.Append(real.ToString("R", CultureInfo.InvariantCulture));
                break;
            default:
                foreach (var c in Convert.ToString(value, CultureInfo.InvariantCulture)!)
                {
                    line.Append(c switch
                    {
                        '\\' => "\\\\",
                        '\t' => "\\t",
                        '\n' => "\\n",
                        '\r' => "\\r",
                        _ => c.ToString(),
                    });
                }
                break;
        }
    }
}
