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

    public static Option<bool> Json() => new("--json") { Description = "Print the raw JSON instead of a table" };
}
