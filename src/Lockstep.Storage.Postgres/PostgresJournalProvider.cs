using Lockstep.Configuration;
using Lockstep.Intake;
using Lockstep.Journal;
using Lockstep.Routing;

namespace Lockstep.Storage.Postgres;

/// <summary><c>storage: postgres:CONNECTION</c>: the journal in a PostgreSQL schema (see <see cref="PostgresLocation"/>).</summary>
public sealed class PostgresJournalProvider : IJournalProvider
{
    public string Scheme => "postgres";

    public IJournal Create(LockstepConfig config, TimeProvider time)
    {
        if (config.Sync.Count > 0) throw new NotSupportedException(PostgresJournal.PairsNotSupported);
        var location = PostgresLocation.Parse(config.Storage);
        return new PostgresJournal(location, new AppendRules(new FlowRouter(config.Flows), config.Delivery, Sensitive(config)), time);
    }

    /// <summary>
    /// Sensitive fields are sealed with <c>security.journalKey</c>: there is no key file beside a database, and every
    /// process that opens the journal must hold the same key.
    /// </summary>
    private static Encryption.SensitiveFields? Sensitive(LockstepConfig config)
    {
        if (config.Sensitive.Count == 0) return null;
        if (config.JournalKeys.Count == 0)
            throw new InvalidOperationException("entities.*.sensitive on the PostgreSQL journal needs security.journalKey (there is no key file beside a database)");
        return new Encryption.SensitiveFields(config.Sensitive, config.JournalKeys[0], config.JournalKeys.Skip(1));
    }
}
