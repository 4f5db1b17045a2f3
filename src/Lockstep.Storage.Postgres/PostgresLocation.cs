using System.Text.RegularExpressions;
using Npgsql;

namespace Lockstep.Storage.Postgres;

/// <summary>
/// Where a PostgreSQL journal lives: <c>storage: postgres:CONNECTION</c>, an Npgsql connection string
/// (<c>Host=db;Username=lockstep;Password=...;Database=lockstep</c>) or a URL (<c>postgres://user:pass@db:5432/lockstep</c>),
/// plus the schema its tables live in: <c>Schema=NAME</c> in a connection string or <c>?schema=NAME</c> in a URL
/// (<c>lockstep</c> when absent). Errors never repeat the value: it holds a password.
/// </summary>
public sealed partial record PostgresLocation(string ConnectionString, string Schema)
{
    public const string Prefix = "postgres:";

    public const string DefaultSchema = "lockstep";

    public static PostgresLocation Parse(string storage)
    {
        if (!storage.StartsWith(Prefix, StringComparison.Ordinal))
            throw new InvalidOperationException("storage is not a PostgreSQL journal (postgres:CONNECTION)");
        var value = storage[Prefix.Length..].Trim();
        var schema = DefaultSchema;
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = value.StartsWith("postgres://", StringComparison.Ordinal) || value.StartsWith("postgresql://", StringComparison.Ordinal)
                ? FromUrl(value, ref schema)
                : FromKeywords(value, ref schema);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException or KeyNotFoundException)
        {
            // The message of a parser may quote the value; ours names only what is wrong.
            throw new InvalidOperationException($"storage: the postgres: connection string or URL is not valid ({e.GetType().Name}: check its keywords, host, port and escaping)");
        }
        if (!SchemaName().IsMatch(schema))
            throw new InvalidOperationException($"storage: schema '{(schema.Length > 63 ? schema[..63] : schema)}' is not a plain PostgreSQL name (lower-case letters, digits, _; at most 63)");
        return new PostgresLocation(builder.ConnectionString, schema);
    }

    private static NpgsqlConnectionStringBuilder FromKeywords(string value, ref string schema)
    {
        var kept = new List<string>();
        foreach (var part in value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && part[..equals].Trim().Equals("schema", StringComparison.OrdinalIgnoreCase)) schema = part[(equals + 1)..].Trim();
            else kept.Add(part);
        }
        return new NpgsqlConnectionStringBuilder(string.Join(';', kept));
    }

    private static NpgsqlConnectionStringBuilder FromUrl(string value, ref string schema)
    {
        var uri = new Uri(value);
        var builder = new NpgsqlConnectionStringBuilder { Host = uri.Host, Port = uri.Port > 0 ? uri.Port : 5432 };
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0) builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0) builder.Database = database;
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            var val = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]);
            if (key.Equals("schema", StringComparison.OrdinalIgnoreCase)) schema = val;
            else if (key.Equals("sslmode", StringComparison.OrdinalIgnoreCase)) builder["SSL Mode"] = val;
            else builder[key] = val;
        }
        return builder;
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();
}
