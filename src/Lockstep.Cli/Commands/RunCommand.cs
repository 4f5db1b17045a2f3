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
            var listen = result.GetValue(urls) ?? loaded.Server.Urls ?? (loaded.Server.Tls is null ? LockstepHost.DefaultUrls : LockstepHost.DefaultHttpsUrls);
            // Checked before anything starts: a port in use must not leave deliveries started and then stopped.
            if (ListenCheck.Problem(listen) is { } problem) return CliErrors.Fail(problem);
            await using var app = LockstepHost.Build(loaded, result.GetValue(urls), jsonLogs: result.GetValue(logFormat) == "json");
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException or System.Net.Sockets.SocketException)
            {
                // Taken between the check and the start.
                return CliErrors.Fail($"{Lockstep.Connectors.ErrorChain.Of(e)} (choose another address with --urls or server.urls)");
            }
            // Returns on Ctrl-C or SIGTERM, after the host stopped: in-flight requests finished or were left due.
            await app.WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }
}
