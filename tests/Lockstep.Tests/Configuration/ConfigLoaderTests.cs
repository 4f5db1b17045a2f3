using Lockstep.Configuration;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    internal const string Acceptance = """
        storage: sqlite:data/lockstep.db
        systems:
          registry:
            type: http
            url: http://127.0.0.1:9001
            auth: { bearer: ${REGISTRY_TOKEN} }
            concurrency: 16
        flows:
          permits-to-registry:
            on: [permitApproved]
            to: registry
            map: |
              (p, r) => ({ registryId: p.id, applicantName: `${p.owner.firstName} ${p.owner.lastName}`,
                           geo: { lat: p.location.lat, lon: p.location.lng }, rev: p.rev })
            upsert: PUT /api/records/{key}
            delete: DELETE /api/records/{key}
            headers: { X-Record-Version: "{version}" }
            retry: { maxAttempts: 50, initialDelay: 50ms, maxDelay: 1s }
        """;

    private static readonly Dictionary<string, string> Env = new() { ["REGISTRY_TOKEN"] = "tok-3f9a8c1d2e" };

    private static IReadOnlyList<ConfigError> Errors(string yaml, IReadOnlyDictionary<string, string>? env = null)
    {
        var e = Assert.Throws<ConfigException>(() => TestEngine.Load(yaml, "/tmp", env ?? Env));
        return e.Errors;
    }

    [Fact]
    public void Acceptance_example_loads_with_its_secret_from_the_environment()
    {
        var config = TestEngine.Load(Acceptance, "/etc/lockstep", Env);

        var flow = Assert.Single(config.Flows);
        Assert.Equal("registry", flow.System);
        Assert.Contains("permitApproved", flow.Types);
        Assert.Equal(50, flow.Retry.MaxAttempts);
        Assert.Equal(TimeSpan.FromMilliseconds(50), flow.Retry.InitialDelay);
        Assert.Equal(TimeSpan.FromSeconds(1), flow.Retry.MaxDelay);
        Assert.Equal("{version}", flow.Headers["X-Record-Version"]);
        Assert.Equal(16, config.Systems["registry"].Concurrency);
        Assert.Equal("/etc/lockstep/data/lockstep.db", Lockstep.Storage.Sqlite.SqliteJournalProvider.PathOf(config));
        Assert.Equal("x *** y", config.Secrets.Redact("x tok-3f9a8c1d2e y"));
    }

    [Fact]
    public void Flow_pointing_at_an_unknown_system_names_file_line_and_key()
    {
        var error = Assert.Single(Errors(Acceptance.Replace("to: registry", "to: registery")));

        Assert.Equal(11, error.Line);
        Assert.Equal("flows.permits-to-registry.to", error.Path);
        Assert.Contains("unknown system 'registery'", error.Message);
        Assert.EndsWith("lockstep.yaml", error.File);
        Assert.StartsWith($"{error.File}:11: flows.permits-to-registry.to:", error.ToString());
    }

    [Fact]
    public void Every_error_is_reported_at_once()
    {
        var yaml = Acceptance
            .Replace("concurrency: 16", "concurrency: lots\n    colour: blue")
            .Replace("maxDelay: 1s", "maxDelay: 10ms")
            .Replace("initialDelay: 50ms", "initialDelay: 50 parsecs");

        var errors = Errors(yaml);

        Assert.Contains(errors, e => e.Path == "systems.registry.concurrency" && e.Message.Contains("not a whole number"));
        Assert.Contains(errors, e => e.Path == "systems.registry.colour" && e.Message.Contains("unknown key") && e.Line == 8);
        Assert.Contains(errors, e => e.Path == "flows.permits-to-registry.retry.initialDelay" && e.Message.Contains("not a duration"));
    }

    [Fact]
    public void Max_delay_below_initial_delay_is_an_error()
    {
        var error = Assert.Single(Errors(Acceptance.Replace("maxDelay: 1s", "maxDelay: 10ms")));

        Assert.Equal("flows.permits-to-registry.retry.maxDelay", error.Path);
        Assert.Contains("must be >= retry.initialDelay (50ms)", error.Message);
    }

    [Fact]
    public void Missing_environment_variable_names_the_variable_not_a_value()
    {
        var error = Assert.Single(Errors(Acceptance, new Dictionary<string, string>()));

        Assert.Equal(6, error.Line);
        Assert.Equal("systems.registry.auth.bearer", error.Path);
        Assert.Contains("${REGISTRY_TOKEN} is not set", error.Message);
    }

    [Fact]
    public void JavaScript_syntax_error_in_map_names_its_line()
    {
        var error = Assert.Single(Errors(Acceptance.Replace("rev: p.rev })", "rev: p.rev ")));

        Assert.Equal("flows.permits-to-registry.map", error.Path);
        Assert.Contains("JavaScript syntax error", error.Message);
        Assert.InRange(error.Line, 12, 15);
    }

    [Fact]
    public void Map_that_is_not_a_function_is_an_error()
    {
        var yaml = Acceptance.Replace("on: [permitApproved]", "on: [permitApproved]\n    filter: 42");

        var error = Assert.Single(Errors(yaml));

        Assert.Contains("must be a JavaScript function", error.Message);
    }

    [Fact]
    public void One_line_map_needs_no_yaml_quoting()
    {
        var yaml = Acceptance.Replace("""
            map: |
              (p, r) => ({ registryId: p.id, applicantName: `${p.owner.firstName} ${p.owner.lastName}`,
                           geo: { lat: p.location.lat, lon: p.location.lng }, rev: p.rev })
        """, "    map: (p) => ({ registryId: p.id, name: `${p.owner.firstName}`, status: p.status })");

        var config = TestEngine.Load(yaml, "/tmp", Env);

        Assert.Equal("(p) => ({ registryId: p.id, name: `${p.owner.firstName}`, status: p.status })", config.Flows[0].Map);
    }

    [Fact]
    public void Wrong_types_and_unknown_keys_are_located()
    {
        var yaml = Acceptance.Replace("on: [permitApproved]", "on: { permitApproved: true }").Replace("storage:", "storge: x\nstorage:");

        var errors = Errors(yaml);

        Assert.Contains(errors, e => e.Path == "storge" && e.Line == 1 && e.Message.Contains("did you mean") == false && e.Message.Contains("unknown key"));
        Assert.Contains(errors, e => e.Path == "flows.permits-to-registry.on" && e.Message.Contains("list of strings"));
    }

    [Fact]
    public void An_unknown_system_type_lists_the_supported_ones()
    {
        var error = Assert.Single(Errors(Acceptance.Replace("type: http", "type: kafka").Replace("    url: http://127.0.0.1:9001\n    auth: { bearer: ${REGISTRY_TOKEN} }\n", "")));

        Assert.Contains("unknown system type 'kafka' (supported: amqp, caldav, file, google-calendar, http, mqtt, mysql, nats, postgres, soap, sqlite, webhook)", error.Message);
    }

    [Fact]
    public void Unknown_placeholder_in_an_operation_is_an_error()
    {
        var error = Assert.Single(Errors(Acceptance.Replace("PUT /api/records/{key}", "PUT /api/records/{id}")));

        Assert.Equal("flows.permits-to-registry.upsert", error.Path);
        Assert.Contains("unknown placeholder {id}", error.Message);
    }

    [Fact]
    public void Invalid_yaml_names_the_line()
    {
        var error = Assert.Single(Errors("systems:\n  a: [1, 2\nflows: {}\n"));

        Assert.Contains("invalid YAML", error.Message);
        Assert.InRange(error.Line, 2, 3);
    }

    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("5s", 5_000)]
    [InlineData("10m", 600_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1.5s", 1_500)]
    public void Durations_parse(string text, double milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(milliseconds, value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("s")]
    [InlineData("5 sec")]
    [InlineData("-1s")]
    public void Bad_durations_do_not_parse(string text) => Assert.False(Durations.TryParse(text, out _));
}
