using System.Text.RegularExpressions;
using Jint;
using Lockstep.Configuration;

namespace Lockstep.Mapping;

/// <summary>Checks at startup that a map/filter script parses and is a function, so a typo fails validate, not delivery.</summary>
internal static partial class ScriptCheck
{
    public static (int Line, string Message)? Check(string source, MappingLimits limits)
    {
        Prepared<Acornima.Ast.Script> prepared;
        try
        {
            prepared = Engine.PrepareScript(source);
        }
        catch (Exception e) when (e is ScriptPreparationException or Acornima.SyntaxErrorException or Acornima.ParseErrorException)
        {
            var message = (e.InnerException ?? e).Message;
            var location = Location().Match(message);
            var line = location.Success ? int.Parse(location.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 1;
            return (line, "JavaScript syntax error: " + Location().Replace(message.Replace("Could not prepare script: ", "", StringComparison.Ordinal), "").Trim());
        }
        try
        {
            var engine = new Engine(o => o.TimeoutInterval(limits.Timeout).LimitMemory(limits.MemoryBytes).LimitRecursion(limits.RecursionDepth).Strict());
            var value = engine.Evaluate(prepared);
            if (value is not Jint.Native.Function.Function) return (1, "must be a JavaScript function, e.g. (data, record) => ({ ... })");
        }
        catch (Exception e)
        {
            return (1, "JavaScript error: " + e.Message);
        }
        return null;
    }

    [GeneratedRegex(@"\(<anonymous>:(\d+):\d+\)")]
    private static partial Regex Location();
}
