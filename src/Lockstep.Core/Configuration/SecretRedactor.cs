namespace Lockstep.Configuration;

/// <summary>
/// Every secret value the config holds (credentials, and values taken from the environment). Anything that leaves the
/// process as text (errors in attempts, dead letters, status, logs) passes through <see cref="Redact"/> first.
/// </summary>
/// <remarks>
/// <para>Every secret is replaced wherever it appears, in any letter case, also URL-escaped.</para>
/// <para>Credentials (values at credential keys, and <c>${NAME}</c> values whose name says TOKEN, SECRET, KEY, PASSWORD,
/// AUTH...) of at least <see cref="FragmentLength"/> characters are also caught in part, as a target may echo a prefix
/// or a slice of what it was sent: every run of text made of overlapping <see cref="FragmentLength"/>-character windows
/// of a credential, in any case, becomes <c>***</c>. A shorter slice is not caught. Composite values (with a space,
/// <c>;</c> or <c>:</c>: URLs, connection strings, user:password pairs) are matched whole only: their windows would
/// match ordinary host and user names, and the readers register the passwords in them on their own.</para>
/// <para>Cost: one hash lookup per character of the text, plus one search per secret.</para>
/// </remarks>
public sealed class SecretRedactor
{
    /// <summary>The shortest part of a credential that is redacted on its own.</summary>
    public const int FragmentLength = 8;

    private const string Mask = "***";

    // Spaces, ';' and ':' join parts that are not all secret: connection strings, URLs, user:password pairs.
    private static readonly System.Buffers.SearchValues<char> Separators = System.Buffers.SearchValues.Create(" \t\r\n;:");

    private readonly object _lock = new();
    private readonly HashSet<string> _values = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _windows = new(StringComparer.OrdinalIgnoreCase);

    // Replaced whole on every change, so Redact reads a consistent pair without a lock.
    private volatile Snapshot _snapshot = new([], null);

    public static SecretRedactor None { get; } = new();

    /// <summary>
    /// Registers a secret. <paramref name="always"/>: a credential from a credential key, registered at any length (else
    /// values under 6 characters, such as ports and flags, are skipped: they would redact half of every message).
    /// <paramref name="credential"/>: a credential by another sign (the variable's name); it gets fragment matching too.
    /// </summary>
    public void Add(string? value, bool always = false, bool credential = false)
    {
        if (string.IsNullOrEmpty(value) || (!always && value.Length < 6)) return;
        lock (_lock)
        {
            var changed = _values.Add(value);
            // Also the form a secret takes in a URL.
            var escaped = Uri.EscapeDataString(value);
            if (escaped != value) changed |= _values.Add(escaped);
            if ((always || credential) && !IsComposite(value))
            {
                changed |= AddWindows(value);
                if (escaped != value) changed |= AddWindows(escaped);
            }
            if (!changed) return;
            _snapshot = new Snapshot(
                [.. _values.OrderByDescending(v => v.Length)],
                _windows.Count == 0 ? null : new HashSet<string>(_windows, StringComparer.OrdinalIgnoreCase));
        }
    }

    private bool AddWindows(string value)
    {
        if (value.Length < FragmentLength) return false;
        var added = false;
        for (var i = 0; i + FragmentLength <= value.Length; i++) added |= _windows.Add(value.Substring(i, FragmentLength));
        return added;
    }

    private static bool IsComposite(string value) => value.AsSpan().ContainsAny(Separators);

    public IReadOnlyCollection<string> Values => _snapshot.Ordered;

    public string? Redact(string? text)
    {
        if (string.IsNullOrEmpty(text)) return text;
        var snapshot = _snapshot;
        foreach (var secret in snapshot.Ordered)
        {
            if (text.Contains(secret, StringComparison.OrdinalIgnoreCase)) text = text.Replace(secret, Mask, StringComparison.OrdinalIgnoreCase);
        }
        return snapshot.Windows is { } windows ? RedactFragments(text, windows) : text;
    }

    // Marks every position covered by a window of a credential, then replaces each marked run with one mask.
    private static string RedactFragments(string text, HashSet<string> windows)
    {
        if (text.Length < FragmentLength) return text;
        var lookup = windows.GetAlternateLookup<ReadOnlySpan<char>>();
        var coveredUntil = -1;
        List<(int Start, int End)>? runs = null;
        for (var i = 0; i + FragmentLength <= text.Length; i++)
        {
            if (!lookup.Contains(text.AsSpan(i, FragmentLength))) continue;
            runs ??= [];
            if (i <= coveredUntil) runs[^1] = (runs[^1].Start, i + FragmentLength);
            else runs.Add((i, i + FragmentLength));
            coveredUntil = i + FragmentLength;
        }
        if (runs is null) return text;
        var result = new System.Text.StringBuilder(text.Length);
        var at = 0;
        foreach (var (start, end) in runs)
        {
            result.Append(text, at, start - at).Append(Mask);
            at = end;
        }
        return result.Append(text, at, text.Length - at).ToString();
    }

    private sealed record Snapshot(string[] Ordered, HashSet<string>? Windows);
}
