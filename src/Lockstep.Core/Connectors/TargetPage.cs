namespace Lockstep.Connectors;

/// <summary>
/// One page of a target's records read by a flow's <c>list</c> operation (for reconciliation): each item's key and JSON,
/// the next page (null after the last), or why the page could not be read (secrets redacted).
/// </summary>
public sealed record TargetPage(IReadOnlyList<TargetItem> Items, string? NextPage, string? Error)
{
    public static TargetPage Failed(string error) => new([], null, error);
}

/// <summary>One record as the target lists it: its key (from the flow's list key field) and its JSON, or why it has no key.</summary>
public sealed record TargetItem(string? Key, string Json);
