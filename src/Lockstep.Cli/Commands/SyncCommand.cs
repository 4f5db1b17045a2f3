using System.CommandLine;

namespace Lockstep.Cli.Commands;

/// <summary>
/// <c>lockstep sync NAME [--full]</c>: a poll source polls now (with <c>--full</c> from the start, looking for vanished
/// records); a flow's waiting deliveries go now, and with <c>--full</c> the flow is reconciled against its target and the drift is printed.
/// </summary>
internal static class SyncCommand
{
    public static Command Create()
    {
        var url = CommonOptions.Url();
        var name = new Argument<string>("name") { Description = "A flow, a system (every flow to it) or a poll source" };
        var full = new Option<bool>("--full") { Description = "A flow: compare every record with the target and repair drift. A poll source: read everything from the start and find vanished records" };
        var command = new Command("sync", "Run a source or a flow now") { url, name, full };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            using var client = new ApiClient(result.GetValue(url)!);
            var answer = await client.PostAsync($"/api/sync/{Uri.EscapeDataString(result.GetValue(name)!)}{(result.GetValue(full) ? "?full=true" : "")}", null, cancellationToken);
            Console.WriteLine($"{answer.GetProperty("kind").GetString()} {answer.GetProperty("name").GetString()}: {answer.GetProperty("outcome").GetString()}");
            return 0;
        }));
        return command;
    }
}
