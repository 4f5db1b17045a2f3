using System.Globalization;

namespace Lockstep.Configuration;

/// <summary>Durations as written in config: <c>250ms</c>, <c>5s</c>, <c>10m</c>, <c>1h</c>, <c>1d</c>.</summary>
public static class Durations
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        text = text.Trim();
        var unitStart = 0;
        while (unitStart < text.Length && (char.IsDigit(text[unitStart]) || text[unitStart] == '.')) unitStart++;
        if (unitStart == 0 || !double.TryParse(text[..unitStart], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount)) return false;
        double? ms = text[unitStart..] switch
        {
            "ms" => amount,
            "s" => amount * 1000,
            "m" => amount * 60_000,
            "h" => amount * 3_600_000,
            "d" => amount * 86_400_000,
            _ => null,
        };
        if (ms is null || ms > TimeSpan.MaxValue.TotalMilliseconds / 2) return false;
        value = TimeSpan.FromMilliseconds(ms.Value);
        return true;
    }

    public static string Format(TimeSpan value) =>
        value == TimeSpan.MaxValue ? "unbounded"
        : value.TotalMilliseconds < 1000 ? $"{value.TotalMilliseconds:0}ms"
        : value.TotalSeconds < 60 ? $"{value.TotalSeconds:0.###}s"
        : value.TotalMinutes < 60 ? $"{value.TotalMinutes:0.###}m"
        : $"{value.TotalHours:0.###}h";
}
