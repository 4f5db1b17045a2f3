using System.Text;
using System.Text.RegularExpressions;

namespace Lockstep.Configuration;

/// <summary>
/// Prepares the YAML text before parsing without moving any line: <c>${NAME}</c> outside scripts becomes a marker that is
/// legal in every YAML context (flow mappings included), and a one-line <c>map:</c>/<c>filter:</c> script is quoted, so
/// JavaScript such as <c>(p) => ({ id: p.id })</c> needs no YAML escaping.
/// </summary>
internal static partial class ConfigText
{
    public static string Prepare(string text, ConfigContext context)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var scriptIndent = -1;
        var output = new StringBuilder(text.Length + 64);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var indent = line.Length - line.TrimStart(' ').Length;
            if (scriptIndent >= 0)
            {
                if (line.Trim().Length == 0 || indent > scriptIndent)
                {
                    Append(output, line, i, lines.Length);
                    continue;
                }
                scriptIndent = -1;
            }
            var script = ScriptKey().Match(line);
            if (script.Success)
            {
                var value = script.Groups[3].Value;
                if (value.Length == 0 || value[0] is '|' or '>') scriptIndent = indent;
                else if (value[0] is not ('"' or '\'')) line = script.Groups[1].Value + script.Groups[2].Value + ": " + Quote(value.TrimEnd());
                Append(output, line, i, lines.Length);
                continue;
            }
            line = Variable().Replace(line, m => context.Marker(m.Groups[1].Value));
            Append(output, line, i, lines.Length);
        }
        return output.ToString();
    }

    private static void Append(StringBuilder output, string line, int index, int count)
    {
        output.Append(line);
        if (index < count - 1) output.Append('\n');
    }

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    [GeneratedRegex(@"^(\s*(?:-\s+)?)(map|filter)\s*:(?:\s+(.*))?$")]
    private static partial Regex ScriptKey();

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Variable();
}
