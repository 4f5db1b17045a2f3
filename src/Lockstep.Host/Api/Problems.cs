using Microsoft.AspNetCore.Http;

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

    private static string Slug(string title) => title.ToLowerInvariant().Replace(' ', '-');

    internal sealed record Problem(string Type, string Title, int Status, string Detail, IReadOnlyList<FieldError>? Errors);
}

/// <summary>One invalid field: <c>Index</c> is the position in an array body, null for a single object.</summary>
internal sealed record FieldError(int? Index, string Field, string Message);
