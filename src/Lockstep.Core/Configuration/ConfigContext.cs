using System.Text.RegularExpressions;

namespace Lockstep.Configuration;

/// <summary>State shared while one file is read: where errors go, how <c>${NAME}</c> resolves, which values are secret.</summary>
public sealed partial class ConfigContext(string file, Func<string, string?> environment, string nonce)
{
    private readonly List<ConfigError> _errors = [];

    public string File { get; } = file;

    public string BaseDirectory { get; init; } = ".";

    public SecretRedactor Secrets { get; } = new();

    public IReadOnlyList<ConfigError> Errors => _errors;

    public void Error(int line, string path, string message) => _errors.Add(new ConfigError(File, line, path, message));

    internal string Marker(string name) => $"$ENV{nonce}({name})";

    /// <summary>Replaces the environment markers in a scalar; a missing variable is an error naming the key and the variable.</summary>
    internal string Resolve(string value, int line, string path, out bool fromEnvironment)
    {
        fromEnvironment = false;
        if (!value.Contains("$ENV" + nonce, StringComparison.Ordinal)) return value;
        var used = false;
        var resolved = MarkerPattern().Replace(value, m =>
        {
            if (m.Groups[1].Value != nonce) return m.Value;
            used = true;
            var name = m.Groups[2].Value;
            var found = environment(name);
            if (found is null)
            {
                Error(line, path, $"environment variable ${{{name}}} is not set");
                return "";
            }
            Secrets.Add(found);
            return found;
        });
        fromEnvironment = used;
        return resolved;
    }

    [GeneratedRegex(@"\$ENV([0-9a-f]+)\(([A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex MarkerPattern();
}
