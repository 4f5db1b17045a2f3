using Lockstep.Configuration;
using Lockstep.Intake;
using Lockstep.Journal;
using Lockstep.Routing;

namespace Lockstep.Storage.Sqlite;

/// <summary><c>storage: sqlite:PATH</c>: the embedded journal, a SQLite file resolved against the config file's folder.</summary>
public sealed class SqliteJournalProvider : IJournalProvider
{
    public const string Prefix = "sqlite:";

    public string Scheme => "sqlite";

    public IJournal Create(LockstepConfig config, TimeProvider time)
    {
        var path = PathOf(config);
        return new SqliteJournal(path, new AppendRules(new FlowRouter(config.Flows), config.Delivery, JournalKeyFile.For(config, path)), time);
    }

    /// <summary>The SQLite file of a config's <c>storage: sqlite:PATH</c>, relative paths against the config file's folder.</summary>
    public static string PathOf(LockstepConfig config)
    {
        if (!config.Storage.StartsWith(Prefix, StringComparison.Ordinal))
            throw new InvalidOperationException($"storage '{config.Storage}' is not a SQLite journal (sqlite:PATH)");
        var path = config.Storage[Prefix.Length..];
        return Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(config.File)) ?? ".", path));
    }
}
