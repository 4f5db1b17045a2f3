using System.CommandLine;

namespace Lockstep.Cli.Commands;

/// <summary>
/// <c>lockstep backfill FLOW</c>: the running service sends the newest state of every record its journal already holds
/// to the flow, in the background (progress under the flow in <c>lockstep status</c> / <c>GET /api/status</c>).
/// </summary>
internal static class BackfillCommand
{
    public static Command Create()
    {
        var url = CommonOptions.Url();
        var name = new Argument<string>("flow") { Description = "The flow to send every record already in the journal to" };
        var command = new Command("backfill", "Send every record already in the journal to a flow") { url, name };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            using var client = new ApiClient(result.GetValue(url)!);
            var answer = await client.PostAsync($"/api/backfill/{Uri.EscapeDataString(result.GetValue(name)!)}", null, cancellationToken);
            Console.WriteLine($"flow {answer.GetProperty("flow").GetString()}: {answer.GetProperty("outcome").GetString()}");
            return 0;
        }));
        return command;
    }
}
