namespace Lockstep.Connectors.Http;

/// <summary>
/// A built request that no HTTP server could be sent (a header value outside visible ASCII, a line break in a header):
/// the request's own fault. It is an <see cref="HttpRequestException"/> so that callers which only know network errors
/// still handle it; connectors catch it first and report it as permanent.
/// </summary>
internal sealed class UnsendableRequestException(string message) : HttpRequestException(message)
{
    /// <summary>Throws when a header of <paramref name="request"/> cannot be sent; names the header, never its value (it may be a secret).</summary>
    public static void ThrowIfUnsendable(HttpRequestMessage request)
    {
        Check(request.Headers.NonValidated);
        if (request.Content is { } content) Check(content.Headers.NonValidated);
    }

    private static void Check(System.Net.Http.Headers.HttpHeadersNonValidated headers)
    {
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                for (var i = 0; i < value.Length; i++)
                {
                    // Field values are visible ASCII, space and tab (RFC 9110 5.5); handlers refuse anything else at send time.
                    if (value[i] is not ((>= ' ' and <= '~') or '\t'))
                        throw new UnsendableRequestException($"the request cannot be built: header '{name}' has a character that cannot be sent at position {i} (header values are ASCII; record keys in headers are percent-encoded)");
                }
            }
        }
    }
}
