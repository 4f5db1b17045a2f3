using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Lockstep.Host.Api;

/// <summary>RFC 9457 problem+json answers; every one names what was wrong.</summary>
internal static class Problems
{
    public static IResult Of(int status, string title, string detail, IReadOnlyList<FieldError>? errors = null) =>
        Results.Json(new Problem($"https://lockstep.dev/problems/{Slug(title)}", title, status, detail, errors),
            ApiJson.Options, "application/problem+json", status);

    public static IResult InvalidUnicode() =>
        Of(400, "Malformed JSON", "a string or field name holds a lone surrogate (\\ud800-\\udfff without its pair), which is not valid Unicode");

    public static IResult NotFound(string what) => Of(StatusCodes.Status404NotFound, "Not found", what);

    /// <summary>503 with Retry-After: the journal cannot commit (disk full, read-only), so nothing of the request was stored.</summary>
    public static IResult JournalUnavailable(TimeSpan retryAfter) =>
        new WithRetryAfter(Of(StatusCodes.Status503ServiceUnavailable, "Journal unavailable",
            "the journal cannot be written right now (is its disk full or read-only?); nothing was stored: retry later"), retryAfter);

    /// <summary>503 with Retry-After for something an operator switched off for now (a paused source).</summary>
    public static IResult Unavailable(string title, string detail, TimeSpan retryAfter) =>
        new WithRetryAfter(Of(StatusCodes.Status503ServiceUnavailable, title, detail), retryAfter);

    private sealed class WithRetryAfter(IResult inner, TimeSpan retryAfter) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }

    private static string Slug(string title) => title.ToLowerInvariant().Replace(' ', '-');

    internal sealed record Problem(string Type, string Title, int Status, string Detail, IReadOnlyList<FieldError>? Errors);
}

/// <summary>One invalid field: <c>Index</c> is the position in an array body, null for a single object.</summary>
internal sealed record FieldError(int? Index, string Field, string Message);

/// <summary>
/// The framework's own problem answers (404 on an unknown route, 405, 415, a parameter that does not bind, an unhandled
/// exception) in Lockstep's shape: the same type URL, title, status, detail and errors as <see cref="Problems.Of"/>.
/// </summary>
internal static class FrameworkProblems
{
    public static IServiceCollection AddLockstepProblemDetails(this IServiceCollection services) =>
        services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            var status = problem.Status ?? context.HttpContext.Response.StatusCode;
            var request = context.HttpContext.Request;
            var (title, detail) = status switch
            {
                404 => ("Not found", $"no endpoint at {request.Method} {request.Path}; see /openapi/v1.json for the API"),
                405 => ("Method not allowed", $"{request.Method} is not allowed on {request.Path}" + (context.HttpContext.Response.Headers.Allow is { Count: > 0 } allow ? $" (allowed: {allow})" : "")),
                415 => ("Unsupported media type", $"'{request.ContentType}' is not accepted here"),
                500 => ("Internal error", "the request failed; see the server log"),
                _ => (problem.Title ?? "Bad request", problem.Detail ?? "the request could not be read"),
            };
            problem.Status = status;
            problem.Title = title;
            // A framework detail (a binding failure) names the parameter; an exception's message never goes out.
            problem.Detail = status == 400 && problem.Detail is { Length: > 0 } own ? own : detail;
            problem.Type = $"https://lockstep.dev/problems/{title.ToLowerInvariant().Replace(' ', '-')}";
            problem.Instance = null;
            problem.Extensions.Clear();
            problem.Extensions["errors"] = null;
        });
}
