using System.CommandLine;

namespace Lockstep.Cli.Commands;

/// <summary>
/// <c>lockstep reload</c>: the running Lockstep validates its config file again (errors with file and line, nothing
/// changes) and, when valid, swaps to it; waits until the new configuration runs.
/// </summary>
internal static class ReloadCommand
{
    public static Command Create()
    {
        var url = CommonOptions.Url();
        var command = new Command("reload", "Reload the running Lockstep's configuration file: validated first, then swapped; in-flight deliveries finish") { url };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            using var client = new ApiClient(result.GetValue(url)!);
            var answer = await client.PostAsync("/api/config/reload", null, cancellationToken);
            var generation = answer.GetProperty("generation").GetInt32();
            foreach (var flow in answer.GetProperty("addedFlows").EnumerateArray()) Console.WriteLine($"flow {flow.GetString()}: added");
            foreach (var kept in answer.GetProperty("keptWork").EnumerateObject())
                Console.WriteLine($"flow {kept.Name}: removed; its {kept.Value.GetInt64()} pending/dead deliveries stay in the journal until it returns or `lockstep drop-work {kept.Name}`");
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(TimeSpan.FromSeconds(60));
            while (true)
            {
                try
                {
                    if ((await client.GetAsync("/api/config", wait.Token)).GetProperty("generation").GetInt32() >= generation) break;
                    await Task.Delay(TimeSpan.FromMilliseconds(200), wait.Token);
                }
                catch (HttpRequestException)
                {
                    // The listener is re-bound while the engine is swapped.
                    await Task.Delay(TimeSpan.FromMilliseconds(200), wait.Token);
                }
                catch (OperationCanceledException) when (wait.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    Console.Error.WriteLine($"error: the reload was accepted but generation {generation} did not start within 60 s; see the server log");
                    return 1;
                }
            }
            Console.WriteLine($"reloaded: configuration generation {generation} is running");
            return 0;
        }));
        return command;
    }
}
