using System.Globalization;

namespace Lockstep.Configuration;

/// <summary>Byte sizes as written in config: <c>4MB</c>, <c>512KB</c>, <c>1048576</c>.</summary>
public static class Sizes
{
    public static bool TryParse(string text, out long value)
    {
        value = 0;
        text = text.Trim();
        var unitStart = 0;
        while (unitStart < text.Length && char.IsDigit(text[unitStart])) unitStart++;
        if (unitStart == 0 || !long.TryParse(text[..unitStart], NumberStyles.None, CultureInfo.InvariantCulture, out var amount)) return false;
        long? factor = text[unitStart..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "KB" or "K" => 1024,
            "MB" or "M" => 1024 * 1024,
            "GB" or "G" => 1024 * 1024 * 1024,
            _ => null,
        };
        if (factor is null || amount > long.MaxValue / factor) return false;
        value = amount * factor.Value;
        return true;
    }
}
