using System.Globalization;

namespace Lockstep.Sources;

/// <summary>
/// Cursor values taken from the data: timestamps (ISO 8601) compare as instants and can be moved back by an overlap;
/// numbers compare as numbers; anything else compares as text.
/// </summary>
public static class CursorValue
{
    public static bool TryInstant(string text, out DateTimeOffset instant) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out instant)
        && text.Length >= 10 && text.Contains('-', StringComparison.Ordinal);

    public static int Compare(string a, string b)
    {
        if (TryInstant(a, out var x) && TryInstant(b, out var y)) return x.CompareTo(y);
        if (decimal.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out var m) && decimal.TryParse(b, NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
            return m.CompareTo(n);
        return string.CompareOrdinal(a, b);
    }

    public static string? Max(string? a, string? b) => a is null ? b : b is null ? a : Compare(a, b) >= 0 ? a : b;

    /// <summary>The lower bound to ask from: the stored cursor moved back by the overlap (timestamps only), inclusive.</summary>
    public static string Since(string? stored, TimeSpan overlap)
    {
        if (stored is null) return "";
        if (overlap > TimeSpan.Zero && TryInstant(stored, out var instant))
            return (instant - overlap).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        return stored;
    }

    /// <summary>A version from a field: a whole number as is, a timestamp as Unix milliseconds (so later is larger).</summary>
    public static long? Version(string text)
    {
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number)) return number;
        return TryInstant(text, out var instant) ? instant.ToUnixTimeMilliseconds() : null;
    }
}
