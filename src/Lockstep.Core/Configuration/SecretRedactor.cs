namespace Lockstep.Configuration;

/// <summary>
/// Every secret value the config holds (credentials, and values taken from the environment). Anything that leaves the
/// process as text (errors in attempts, dead letters, status, logs) passes through <see cref="Redact"/> first.
/// </summary>
public sealed class SecretRedactor
{
    private readonly HashSet<string> _values = new(StringComparer.Ordinal);
    private string[] _ordered = [];

    public static SecretRedactor None { get; } = new();

    public void Add(string? value, bool always = false)
    {
        // Short environment values (ports, flags) would redact half of every message; credentials are always secrets.
        if (string.IsNullOrEmpty(value) || (!always && value.Length < 6)) return;
        lock (_values)
        {
            if (!_values.Add(value)) return;
            _ordered = [.. _values.OrderByDescending(v => v.Length)];
            // Also the forms a secret takes on the wire (Basic auth and URL-escaped).
            var escaped = Uri.EscapeDataString(value);
            if (escaped != value && _values.Add(escaped)) _ordered = [.. _values.OrderByDescending(v => v.Length)];
        }
    }

    public IReadOnlyCollection<string> Values => _ordered;

    public string? Redact(string? text)
    {
        if (string.IsNullOrEmpty(text)) return text;
        foreach (var secret in _ordered)
        {
            if (text.Contains(secret, StringComparison.Ordinal)) text = text.Replace(secret, "***", StringComparison.Ordinal);
        }
        return text;
    }
}
