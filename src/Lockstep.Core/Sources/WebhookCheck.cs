using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Lockstep.Sources;

/// <summary>
/// Verifies an inbound webhook. Standard Webhooks: <c>webhook-signature</c> is a space-separated list of
/// <c>v1,&lt;base64 HMAC-SHA256 of "id.timestamp.body"&gt;</c> keyed by the base64 after <c>whsec_</c>; unknown or malformed
/// entries are skipped; any configured secret may match (rotation); compared in constant time; the timestamp must be
/// within the tolerance both ways. Plain HMAC: <c>sha256=&lt;hex&gt;</c> of the body. Always over the raw body bytes.
/// Without any secret every push is rejected, unless the verification is the explicit <see cref="WebhookVerification.Unsigned"/>.
/// </summary>
public static class WebhookCheck
{
    public static string? Verify(WebhookVerification verification, Func<string, string?> header, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        if (verification.None) return null;
        if (verification.StandardWebhooks.Count > 0) return StandardWebhooks(verification, header, body, now);
        if (verification.HmacSecrets.Count > 0) return Hmac(verification, header, body);
        // Fail closed: a verification with no secret verifies nothing, and only verify: none may accept unsigned pushes.
        return "no webhook secret is configured";
    }

    private static string? StandardWebhooks(WebhookVerification verification, Func<string, string?> header, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        var id = header("webhook-id") ?? header("svix-id");
        var timestamp = header("webhook-timestamp") ?? header("svix-timestamp");
        var signatures = header("webhook-signature") ?? header("svix-signature");
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signatures))
            return "missing webhook-id, webhook-timestamp or webhook-signature";
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            return "webhook-timestamp is not a Unix time in seconds";
        var sent = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, 0, 253_402_300_799));
        if ((now - sent).Duration() > verification.Tolerance) return "webhook-timestamp is outside the tolerance";

        var prefix = Encoding.UTF8.GetBytes($"{id}.{timestamp}.");
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        Span<byte> expected = stackalloc byte[32];
        Span<byte> given = stackalloc byte[64];
        foreach (var secret in verification.StandardWebhooks)
        {
            var key = Convert.FromBase64String(secret.Reveal()["whsec_".Length..]);
            HMACSHA256.HashData(key, content, expected);
            foreach (var entry in signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var comma = entry.IndexOf(',', StringComparison.Ordinal);
                if (comma < 0 || entry[..comma] != "v1") continue;
                if (!Convert.TryFromBase64String(entry[(comma + 1)..], given, out var written) || written != 32) continue;
                if (CryptographicOperations.FixedTimeEquals(expected, given[..written])) return null;
            }
        }
        return "no signature matches";
    }

    private static string? Hmac(WebhookVerification verification, Func<string, string?> header, ReadOnlySpan<byte> body)
    {
        var value = header(verification.HmacHeader ?? "X-Signature");
        if (string.IsNullOrEmpty(value)) return $"missing {verification.HmacHeader} header";
        var hex = value.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase) ? value[7..] : value;
        byte[] given;
        try
        {
            given = Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return "the signature is not hex";
        }
        Span<byte> expected = stackalloc byte[32];
        foreach (var secret in verification.HmacSecrets)
        {
            if (secret.Reveal().Length == 0) continue; // an empty key is known to everyone
            HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret.Reveal()), body, expected);
            if (CryptographicOperations.FixedTimeEquals(expected, given)) return null;
        }
        return "no signature matches";
    }

    /// <summary>Signs as a Standard Webhooks sender would (for tests and outbound webhooks).</summary>
    public static string Sign(string secret, string id, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes($"{id}.{timestamp}.");
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(secret["whsec_".Length..]), content));
    }
}
