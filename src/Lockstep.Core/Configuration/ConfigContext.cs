using System.Text.RegularExpressions;

namespace Lockstep.Configuration;

/// <summary>State shared while one file is read: where errors go, how <c>${NAME}</c> resolves, which values are secret.</summary>
public sealed partial class ConfigContext(string file, Func<string, string?> environment, string nonce)
{
    private readonly List<ConfigError> _errors = [];

    // Each value taken from the environment, with what messages say instead: a whole scalar -> the scalar as written
    // (with ${NAME}), a variable's value -> ${NAME}.
    private readonly Dictionary<string, string> _scalars = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _variables = new(StringComparer.Ordinal);

    public string File { get; } = file;

    public string BaseDirectory { get; init; } = ".";

    public SecretRedactor Secrets { get; } = new();

    public IReadOnlyList<ConfigError> Errors => _errors;

    /// <summary>Records an error; a value that came from <c>${NAME}</c> never appears in it (see <see cref="Conceal"/>).</summary>
    public void Error(int line, string path, string message) => _errors.Add(new ConfigError(File, line, path, Conceal(message)));

    internal string Marker(string name) => $"$ENV{nonce}({name})";

    /// <summary>
    /// Replaces the environment markers in a scalar. <paramref name="written"/> is the scalar as written (<c>${NAME}</c>
    /// kept) when it used the environment, else null. A missing variable is an error naming the key and the variable,
    /// and gives null.
    /// </summary>
    internal string? Resolve(string value, int line, string path, out string? written)
    {
        written = null;
        if (!value.Contains("$ENV" + nonce, StringComparison.Ordinal)) return value;
        var missing = false;
        var resolved = MarkerPattern().Replace(value, m =>
        {
            if (m.Groups[1].Value != nonce) return m.Value;
            var name = m.Groups[2].Value;
            var found = environment(name);
            if (found is null)
            {
                Error(line, path, $"environment variable ${{{name}}} is not set");
                missing = true;
                return "";
            }
            Secrets.Add(found, credential: CredentialName().IsMatch(name));
            if (found.Length > 0) _variables.TryAdd(found, "${" + name + "}");
            return found;
        });
        written = MarkerPattern().Replace(value, m => m.Groups[1].Value == nonce ? "${" + m.Groups[2].Value + "}" : m.Value);
        if (missing) return null;
        if (resolved.Length > 0) _scalars.TryAdd(resolved, written);
        return resolved;
    }

    /// <summary>How an error names a value taken from the environment: <c>the value of ${NAME}</c>, never the value.</summary>
    internal static string Describe(string written) =>
        WholeVariable().IsMatch(written) ? $"the value of {written}" : $"the value of '{written}'";

    // Under the readers' own wording, a net for every other check: a value from the environment that a message echoes
    // in quotes ('value', as checks do) becomes "the value of ${NAME}"; one echoed bare becomes ${NAME} when it has 6 or
    // more characters (shorter ones, such as ports, would also match ordinary words; typed readers never echo them).
    private string Conceal(string message)
    {
        if (_scalars.Count == 0) return message;
        foreach (var (value, written) in _scalars.OrderByDescending(p => p.Key.Length))
            message = message.Replace($"'{value}'", Describe(written), StringComparison.Ordinal);
        foreach (var (value, name) in _variables.Where(p => p.Key.Length >= 6).OrderByDescending(p => p.Key.Length))
            message = message.Replace(value, name, StringComparison.Ordinal);
        return message;
    }

    [GeneratedRegex(@"\$ENV([0-9a-f]+)\(([A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex MarkerPattern();

    [GeneratedRegex(@"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")]
    private static partial Regex WholeVariable();

    // Variables whose name says they hold a credential get the redactor's fragment matching, wherever they are used.
    [GeneratedRegex("TOKEN|SECRET|PASSWORD|PASSWD|PWD|KEY|CREDENTIAL|AUTH", RegexOptions.IgnoreCase)]
    private static partial Regex CredentialName();
}
