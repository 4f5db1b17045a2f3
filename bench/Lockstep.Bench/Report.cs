using System.Globalization;
using System.Text;

namespace Lockstep.Bench;

/// <summary>One line of the results table.</summary>
internal sealed record ResultRow(string Scenario, string Measured, string Reference, string Ratio, string Goal, string Met);

/// <summary>Collects rows and notes and renders them as the markdown table bench/README.md shows.</summary>
internal sealed class Report
{
    private readonly List<ResultRow> _rows = [];
    private readonly List<string> _notes = [];

    public void Add(ResultRow row)
    {
        _rows.Add(row);
        Console.Error.WriteLine($"[bench] | {row.Scenario} | {row.Measured} | {row.Reference} | {row.Ratio} | {row.Goal} | {row.Met} |");
    }

    public void Note(string note)
    {
        _notes.Add(note);
        Console.Error.WriteLine($"[bench] note: {note}");
    }

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| Scenario | Lockstep | Limit / peer | Ratio | Goal | Met |");
        text.AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var r in _rows) text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Scenario} | {r.Measured} | {r.Reference} | {r.Ratio} | {r.Goal} | {r.Met} |");
        if (_notes.Count > 0)
        {
            text.AppendLine();
            foreach (var n in _notes) text.AppendLine(CultureInfo.InvariantCulture, $"- {n}");
        }
        return text.ToString();
    }

    public static string Rate(double perSecond) => perSecond.ToString("N0", CultureInfo.InvariantCulture);

    public static string Percent(double ratio) => (ratio * 100).ToString("F0", CultureInfo.InvariantCulture) + " %";

    public static string Times(double ratio) => ratio.ToString("F1", CultureInfo.InvariantCulture) + "×";

    public static string Ms(double ms) => ms.ToString("F1", CultureInfo.InvariantCulture) + " ms";

    public static string S(double seconds) => seconds.ToString("F1", CultureInfo.InvariantCulture) + " s";

    public static string YesNo(bool met) => met ? "yes" : "**no**";

    /// <summary>The 1-minute load average, to show when the (shared) machine was busy during a measurement.</summary>
    public static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }
}
