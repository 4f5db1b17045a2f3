using Lockstep.Configuration;

namespace Lockstep.Journal;

/// <summary>
/// A storage backend, registered by its project (<c>services.UseSqlite()</c>) and chosen by the scheme of the config's
/// <c>storage:</c> value (<c>sqlite:PATH</c>).
/// </summary>
public interface IJournalProvider
{
    /// <summary>The <c>storage:</c> scheme this backend serves, without the colon: <c>sqlite</c>.</summary>
    string Scheme { get; }

    /// <summary>A journal for the config, not yet opened.</summary>
    IJournal Create(LockstepConfig config, TimeProvider time);
}
