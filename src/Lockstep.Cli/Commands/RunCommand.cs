using System.CommandLine;
using Lockstep.Configuration;
using Lockstep.Host;
using Microsoft.Extensions.DependencyInjection;
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
            var reload = new ConfigReload(result.GetValue(config)!, path => ValidateCommand.Loader().Load(path), loaded);
            // SIGHUP reloads instead of ending the process; an invalid file is reported and changes nothing.
            using var hangup = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, signal =>
            {
                signal.Cancel = true;
                try
                {
                    var plan = reload.Request();
                    Console.Error.WriteLine($"reload: {reload.Path} is valid; starting generation {plan.Generation}");
                }
                catch (ConfigException e)
                {
                    Console.Error.WriteLine($"reload rejected, nothing changed: {e.Errors.Count} error(s)");
                    foreach (var error in e.Errors) Console.Error.WriteLine(error);
                }
                catch (InvalidOperationException e)
                {
                    Console.Error.WriteLine($"reload: {e.Message}");
                }
            });
            while (true)
            {
                await using var app = LockstepHost.Build(loaded, result.GetValue(urls), services => services.AddSingleton(reload), jsonLogs: result.GetValue(logFormat) == "json");
                try
                {
                    await app.StartAsync(cancellationToken);
                }
                catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException or System.Net.Sockets.SocketException)
                {
                    // Taken between the check and the start (or, on a reload, by another program meanwhile).
                    return CliErrors.Fail($"{Lockstep.Connectors.ErrorChain.Of(e)} (choose another address with --urls or server.urls)");
                }
                if (!ReferenceEquals(reload.Current, loaded)) reload.Applied(loaded);
                // Returns on Ctrl-C or SIGTERM, after the host stopped: in-flight requests finished or were left due.
                using var swap = new CancellationTokenSource();
                var shutdown = app.WaitForShutdownAsync(cancellationToken);
                var next = reload.NextAsync(swap.Token).AsTask();
                if (await Task.WhenAny(shutdown, next) == shutdown)
                {
                    await swap.CancelAsync();
                    return 0;
                }
                // Checkpoint: the new file is valid. The engine stops as at a shutdown (in-flight deliveries finish and
                // commit), then one on the new configuration opens the same journal.
                loaded = await next;
                await app.StopAsync(CancellationToken.None);
                Console.Error.WriteLine($"reload: engine stopped; starting on {reload.Path}");
            }
        });
        return command;
    }
}
