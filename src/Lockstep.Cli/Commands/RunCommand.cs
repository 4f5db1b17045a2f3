using System.CommandLine;
using Lockstep.Configuration;
using Lockstep.Host;
using Microsoft.Extensions.Hosting;

namespace Lockstep.Cli.Commands;

/// <summary><c>lockstep run --config FILE [--urls URL]</c>: the service.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config", "-c") { Description = "The YAML config file", Required = true };
        var urls = new Option<string?>("--urls") { Description = $"Where the HTTP API listens (default: server.urls or {LockstepHost.DefaultUrls})" };
        var logFormat = new Option<string>("--log-format") { Description = "text (default) or json: one JSON object per line, message template and its values as fields", DefaultValueFactory = _ => "text" };
        logFormat.AcceptOnlyFromAmong("text", "json");
        var command = new Command("run", "Run Lockstep: the HTTP API and the delivery engine") { config, urls, logFormat };
        command.SetAction(async (result, cancellationToken) =>
        {
            LockstepConfig loaded;
            try
            {
                loaded = ValidateCommand.Loader().Load(result.GetValue(config)!);
            }
            catch (ConfigException e)
            {
                foreach (var error in e.Errors) Console.Error.WriteLine(error);
                return 1;
            }
            await using var app = LockstepHost.Build(loaded, result.GetValue(urls), jsonLogs: result.GetValue(logFormat) == "json");
            await app.StartAsync(cancellationToken);
            // Returns on Ctrl-C or SIGTERM, after the host stopped: in-flight requests finished or were left due.
            await app.WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }
}
