using System.Globalization;

namespace Lockstep.Events;

/// <summary>
/// Ids and record names derived from an event's entity, key and version. Each part has <c>%</c> and <c>:</c> escaped
/// (<c>%25</c>, <c>%3A</c>), so no two (entity, key, version) share an id: entity <c>a:b</c> with key <c>c</c> is
/// <c>a%3Ab:c:1</c>, entity <c>a</c> with key <c>b:c</c> is <c>a:b%3Ac:1</c>. Parts without either character are
/// written as they are, so ids derived before the escaping (<c>permit:P-1:1</c>) stay the same.
/// </summary>
public static class EventIds
{
    /// <summary>The id of an event published without one: <c>entity:key:version</c>, each part escaped.</summary>
    public static string Derived(string entity, string key, long version) =>
        string.Create(CultureInfo.InvariantCulture, $"{Escape(entity)}:{Escape(key)}:{version}");

    /// <summary>One part of a <c>:</c>-separated id, with <c>%</c> and <c>:</c> percent-encoded.</summary>
    public static string Escape(string part) =>
        part.AsSpan().IndexOfAny('%', ':') < 0 ? part : part.Replace("%", "%25", StringComparison.Ordinal).Replace(":", "%3A", StringComparison.Ordinal);
}
