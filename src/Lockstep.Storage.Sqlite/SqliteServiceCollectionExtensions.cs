using Lockstep.Journal;
using Lockstep.Storage.Sqlite;

// Registration extensions live in the namespace of what they extend, so `services.UseSqlite()` needs no extra using.
namespace Microsoft.Extensions.DependencyInjection;

public static class SqliteServiceCollectionExtensions
{
    /// <summary>Makes <c>storage: sqlite:PATH</c> available: the embedded journal (the default storage).</summary>
    public static IServiceCollection UseSqlite(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(IJournalProvider) && d.ImplementationInstance is SqliteJournalProvider))
            services.AddSingleton<IJournalProvider>(new SqliteJournalProvider());
        return services;
    }
}
