namespace Lockstep.Sources;

/// <summary>One page from a source: its items as JSON texts and the next page, or why it failed (secrets redacted).</summary>
public sealed record SourceFetch(IReadOnlyList<string> Items, string? NextPage, string? Error)
{
    public static SourceFetch Failed(string error) => new([], null, error);
}
