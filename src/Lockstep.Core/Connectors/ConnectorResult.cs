namespace Lockstep.Connectors;

/// <summary>What a connector reports for one request. Expected failures are values, not exceptions.</summary>
public readonly record struct ConnectorResult(ResultKind Kind, int? StatusCode, string? Error, TimeSpan? RetryAfter)
{
    public static ConnectorResult Success(int? statusCode = null) => new(ResultKind.Success, statusCode, null, null);

    public static ConnectorResult Transient(string error, int? statusCode = null, TimeSpan? retryAfter = null) =>
        new(ResultKind.Transient, statusCode, error, retryAfter);

    public static ConnectorResult Skipped(string why) => new(ResultKind.Skipped, null, why, null);

    public static ConnectorResult Permanent(string error, int? statusCode = null) => new(ResultKind.Permanent, statusCode, error, null);
}
