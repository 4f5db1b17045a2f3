namespace Lockstep.Connectors;

/// <summary>
/// An exception's message with its inner exceptions' messages, outermost first: "The SSL connection could not be
/// established: The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot".
/// .NET's network errors keep the cause in the inner exception; the outer message alone rarely says what to fix.
/// </summary>
public static class ErrorChain
{
    /// <summary>The joined messages; redact the result before it is stored or logged.</summary>
    public static string Of(Exception exception)
    {
        var parts = new List<string>();
        for (var e = exception; e is not null && parts.Count < 8; e = e.InnerException)
        {
            var message = Trim(e.Message);
            // An outer message often repeats its inner one, or an inner one only restates what is already said.
            if (message.Length == 0 || parts.Any(p => p.Contains(message, StringComparison.Ordinal))) continue;
            if (parts.Count > 0 && message.Contains(parts[^1], StringComparison.Ordinal)) parts[^1] = message;
            else parts.Add(message);
        }
        return string.Join(": ", parts);
    }

    private static string Trim(string message)
    {
        var text = message.Trim();
        foreach (var hint in (string[])[", see inner exception.", ", see inner exception", " See the inner exception for details.", " See inner exception for details."])
        {
            if (text.EndsWith(hint, StringComparison.Ordinal)) text = text[..^hint.Length];
        }
        return text.TrimEnd('.', ' ');
    }
}
