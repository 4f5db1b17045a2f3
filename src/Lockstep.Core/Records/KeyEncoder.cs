using System.Text;

namespace Lockstep.Records;

/// <summary>
/// How record keys (and entity and flow names) are written wherever they become part of a request: URL paths, header
/// values, idempotency keys, webhook ids, message ids. Their UTF-8 bytes are percent-encoded (RFC 3986), keeping only
/// the unreserved characters <c>A–Z a–z 0–9 - . _ ~</c>, so <c>Müller-1</c> is <c>M%C3%BCller-1</c> everywhere and the
/// result is plain ASCII that any header or URL can carry. Keys made of unreserved characters are unchanged.
/// </summary>
public static class KeyEncoder
{
    private const string Hex = "0123456789ABCDEF";

    // A lone surrogate has no UTF-8 form; replacing it would make two keys encode alike, so it is refused.
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The percent-encoded form; throws <see cref="ArgumentException"/> for text that is not valid Unicode (a lone surrogate).</summary>
    public static string Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (IsPlain(text)) return text;
        byte[] bytes;
        try
        {
            bytes = Strict.GetBytes(text);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"the key is not valid Unicode text (a lone surrogate at position {e.Index})", nameof(text), e);
        }
        var builder = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (IsUnreserved((char)b)) builder.Append((char)b);
            else builder.Append('%').Append(Hex[b >> 4]).Append(Hex[b & 0xF]);
        }
        return builder.ToString();
    }

    /// <summary>The deterministic idempotency key <c>flow:entity:key:version</c>, each name encoded, so ':' only ever separates.</summary>
    public static string IdempotencyKey(string flow, string entity, string key, long version) =>
        $"{Encode(flow)}:{Encode(entity)}:{Encode(key)}:{version.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    private static bool IsPlain(string text)
    {
        foreach (var c in text)
        {
            if (!IsUnreserved(c)) return false;
        }
        return true;
    }

    private static bool IsUnreserved(char c) => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.' or '_' or '~';
}
