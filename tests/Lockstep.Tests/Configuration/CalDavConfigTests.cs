using Lockstep.Configuration;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Configuration;

/// <summary>A <c>type: caldav</c> system is checked at startup, errors naming the key; its password is a secret.</summary>
public sealed class CalDavConfigTests
{
    private static string Yaml(string system) => $$"""
        storage: sqlite:lockstep.db
        systems:
          scheduler:
        {{system}}
        flows:
          permit-inspection:
            on: [permitApproved]
            to: scheduler
            map: (p) => ({ summary: p.id, start: p.inspectionAt, durationMinutes: 60 })
        """;

    private static IReadOnlyList<ConfigError> Errors(string system) =>
        Assert.Throws<ConfigException>(() => TestEngine.Load(Yaml(system), "/tmp", new Dictionary<string, string> { ["CALDAV_PASSWORD"] = "s3cret-caldav" })).Errors;

    [Fact]
    public void Acceptance_system_loads_with_its_password_registered_as_a_secret()
    {
        var config = TestEngine.Load(Yaml("""
                type: caldav
                url: http://127.0.0.1:5232/lockstep/inspections
                auth: { basic: { user: lockstep, password: "${CALDAV_PASSWORD}" } }
            """), "/tmp", new Dictionary<string, string> { ["CALDAV_PASSWORD"] = "s3cret-caldav" });

        Assert.Equal("caldav", config.Systems["scheduler"].Type);
        Assert.Equal("*** failed", config.Secrets.Redact("s3cret-caldav failed"));
    }

    [Fact]
    public void Missing_url_and_an_api_key_are_errors_naming_the_keys()
    {
        var errors = Errors("""
                type: caldav
                auth: { apiKey: { header: X-Key, value: abc } }
            """);

        Assert.Contains(errors, e => e.Path == "systems.scheduler.url" && e.Message.Contains("is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "systems.scheduler.auth.apiKey" && e.Line == 5);
    }

    [Fact]
    public void A_flow_key_of_another_connector_is_an_error()
    {
        var errors = Assert.Throws<ConfigException>(() => TestEngine.Load(Yaml("""
                type: caldav
                url: http://127.0.0.1:5232/lockstep/inspections/
            """) + "\n    upsert: PUT /x/{key}\n", "/tmp")).Errors;

        Assert.Contains(errors, e => e.Path == "flows.permit-inspection.upsert" && e.Message.Contains("unknown key", StringComparison.Ordinal));
    }
}
