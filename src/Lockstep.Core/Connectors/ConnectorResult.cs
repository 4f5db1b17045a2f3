namespace Lockstep.Connectors;

/// <summary>What a connector reports for one request. Expected failures are values, not exceptions.</summary>
public readonly record struct ConnectorResult(ResultKind Kind, int? StatusCode, string? Error, TimeSpan? RetryAfter)
{
    public static ConnectorResult Success(int? statusCode = null) => new(ResultKind.Success, statusCode, null, null);

    public static ConnectorResult Transient(string error, int? statusCode = null, TimeSpan? retryAfter = null) =>
        new(ResultKind.Transient, statusCode, error, retryAfter);

    public static ConnectorResult Skipped(string why) => new(ResultKind.Skipped, null, why, null);

    public static ConnectorResult Permanent(string error, int? statusCode = null) => new(ResultKind.Permanent, statusCode, error, null);

    /// <summary>
    /// The request for this record could not be built (an invalid URI or header value, text with no UTF-8 form): the
    /// record's own fault, so permanent, never a network error, and never counted against the system's circuit.
    /// </summary>
    public static ConnectorResult Unsendable(string why) => Permanent($"the request cannot be built: {why}");

    /// <summary>Whether an exception thrown while building a request is the request's own fault (an invalid argument, URI or format).</summary>
    public static bool IsRequestFault(Exception exception) => exception is ArgumentException or FormatException;
}
