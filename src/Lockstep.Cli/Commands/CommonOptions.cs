using System.CommandLine;
using Lockstep.Host;

namespace Lockstep.Cli.Commands;

/// <summary>Options several verbs share.</summary>
internal static class CommonOptions
{
    public static Option<string> Url() => new("--url")
    {
        Description = $"The running Lockstep's address (default {LockstepHost.DefaultUrls}, or $LOCKSTEP_URL)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("LOCKSTEP_URL") ?? LockstepHost.DefaultUrls,
    };

    public static Option<bool> Json() => new("--json") { Description = "Print the JSON the server answered (nested JSON documents as objects)" };

    public static Option<string?> Output()
    {
        var option = new Option<string?>("--output", "-o")
        {
            Description = "table (sized to the terminal or $COLUMNS), plain (aligned text, one line per row) or tsv; default: table on a terminal, plain otherwise",
        };
        option.AcceptOnlyFromAmong("table", "plain", "tsv");
        return option;
    }

    public static Option<bool> Wide() => new("--wide", "-w") { Description = "Show long texts (errors, records) in full in a table; plain and tsv never cut" };
}
