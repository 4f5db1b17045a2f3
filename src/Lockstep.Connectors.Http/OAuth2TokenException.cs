namespace Lockstep.Connectors.Http;

/// <summary>
/// The token endpoint refused or failed, so the request was never sent. Thrown inside the http client and turned into
/// a transient or permanent result by the connector or source that made the request.
/// </summary>
internal sealed class OAuth2TokenException(string message, bool transient, int? statusCode) : Exception(message)
{
    public bool Transient { get; } = transient;

    public int? StatusCode { get; } = statusCode;
}
