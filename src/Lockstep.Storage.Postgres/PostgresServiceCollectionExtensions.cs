using Lockstep.Journal;
using Lockstep.Storage.Postgres;

// Registration extensions live in the namespace of what they extend, so `services.UsePostgres()` needs no extra using.
namespace Microsoft.Extensions.DependencyInjection;

public static class PostgresServiceCollectionExtensions
{
    /// <summary>Makes <c>storage: postgres:CONNECTION</c> available: the journal in a PostgreSQL schema.</summary>
    public static IServiceCollection UsePostgres(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(IJournalProvider) && d.ImplementationInstance is PostgresJournalProvider))
            services.AddSingleton<IJournalProvider>(new PostgresJournalProvider());
        return services;
    }
}
