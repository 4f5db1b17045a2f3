using Lockstep.Configuration;
using Lockstep.Host;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Configuration;

/// <summary>A value taken from <c>${NAME}</c> never appears in a config error: the error names the key and the variable.</summary>
public sealed class EnvironmentValueTests
{
    private const string Token = "reg-token-7Hq2ZkW9xLp4";

    private static readonly Dictionary<string, string> Env = new()
    {
        ["REGISTRY_TOKEN"] = Token,
        ["SHORT"] = "0",
        ["WORD"] = "yes",
        ["LONG_WAIT"] = "999d",
        ["TARGET_SYSTEM"] = "registry-eu-9f3k",
    };

    private static IReadOnlyList<ConfigError> ErrorsFromFile(string yaml)
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "lockstep.yaml");
        File.WriteAllText(path, yaml);
        var loader = new ConfigLoader(LockstepServiceCollectionExtensions.ConnectorFactories, name => Env.GetValueOrDefault(name));
        return Assert.Throws<ConfigException>(() => loader.Load(path)).Errors;
    }

    [Fact]
    public void A_whole_number_from_the_environment_is_named_by_its_variable()
    {
        var error = Assert.Single(ErrorsFromFile(ConfigLoaderTests.Acceptance.Replace("concurrency: 16", "concurrency: ${REGISTRY_TOKEN}")));

        Assert.Equal((7, "systems.registry.concurrency"), (error.Line, error.Path));
        Assert.Equal("the value of ${REGISTRY_TOKEN} is not a whole number", error.Message);
        Assert.DoesNotContain("reg-token", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("concurrency: 16", "concurrency: ${SHORT}", "systems.registry.concurrency", "the value of ${SHORT} must be between 1 and 1024", "0 must")]
    [InlineData("concurrency: 16", "concurrency: 1${SHORT}x", "systems.registry.concurrency", "the value of '1${SHORT}x' is not a whole number", "10x")]
    [InlineData("concurrency: 16", "concurrency: 16\n    timeout: ${REGISTRY_TOKEN}", "systems.registry.timeout", "the value of ${REGISTRY_TOKEN} is not a duration", Token)]
    [InlineData("concurrency: 16", "concurrency: 16\n    timeout: ${LONG_WAIT}", "systems.registry.timeout", "the value of ${LONG_WAIT} must be between", "999d")]
    [InlineData("concurrency: 16", "concurrency: 16\n    circuit: { failureRatio: ${REGISTRY_TOKEN} }", "systems.registry.circuit.failureRatio", "the value of ${REGISTRY_TOKEN} must be a number", Token)]
    [InlineData("storage: sqlite:data/lockstep.db", "storage: sqlite:data/lockstep.db\ndelivery: { completionEvents: ${WORD} }", "delivery.completionEvents", "the value of ${WORD} must be true or false", "'yes'")]
    [InlineData("storage: sqlite:data/lockstep.db", "storage: sqlite:data/lockstep.db\nserver: { maxBodySize: ${REGISTRY_TOKEN} }", "server.maxBodySize", "the value of ${REGISTRY_TOKEN} must be a size", Token)]
    [InlineData("to: registry", "to: ${TARGET_SYSTEM}", "flows.permits-to-registry.to", "unknown system the value of ${TARGET_SYSTEM}", "registry-eu")]
    [InlineData("storage: sqlite:data/lockstep.db", "storage: ${REGISTRY_TOKEN}", "storage", "the value of ${REGISTRY_TOKEN} is not a storage", Token)]
    public void No_typed_value_error_echoes_a_value_from_the_environment(string find, string replace, string path, string message, string value)
    {
        var errors = ErrorsFromFile(ConfigLoaderTests.Acceptance.Replace(find, replace));

        var error = Assert.Single(errors, e => e.Path == path);
        Assert.Contains(message, error.Message);
        Assert.All(errors, e => Assert.DoesNotContain(value, e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void A_value_written_in_the_file_is_still_shown()
    {
        var error = Assert.Single(ErrorsFromFile(ConfigLoaderTests.Acceptance.Replace("concurrency: 16", "concurrency: lots")));

        Assert.Equal("'lots' is not a whole number", error.Message);
    }
}
