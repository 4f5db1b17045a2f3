using System.CommandLine;

namespace Lockstep.Cli.Commands;

/// <summary>
/// Operators' controls on a running Lockstep: <c>pause</c>/<c>resume flow|system|source NAME</c>, <c>circuit reset SYSTEM</c>,
/// <c>check SYSTEM</c> and <c>drop-work FLOW</c> (what a removed flow left behind). Each is audited by the server.
/// </summary>
internal static class ControlCommands
{
    public static Command Pause() => Toggle("pause", "Pause a flow (its deliveries stay pending), a system (nothing is sent to it) or a source (not polled; a webhook answers 503)", withReason: true);

    public static Command Resume() => Toggle("resume", "Resume a paused flow, system or source; waiting deliveries become due now", withReason: false);

    private static Command Toggle(string verb, string description, bool withReason)
    {
        var url = CommonOptions.Url();
        var json = CommonOptions.Json();
        var kind = new Argument<string>("kind") { Description = "flow, system or source" };
        kind.AcceptOnlyFromAmong("flow", "system", "source");
        var name = new Argument<string>("name") { Description = "Its name in the configuration" };
        var reason = new Option<string?>("--reason") { Description = "Why (kept with the pause and in the audit log)" };
        var command = new Command(verb, description) { url, json, kind, name };
        if (withReason) command.Options.Add(reason);
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            using var client = new ApiClient(result.GetValue(url)!);
            var body = withReason && result.GetValue(reason) is { } why ? new { reason = why } : null;
            var answer = await client.PostAsync($"/api/{result.GetValue(kind)}s/{Uri.EscapeDataString(result.GetValue(name)!)}/{verb}", body, cancellationToken);
            Console.WriteLine(result.GetValue(json) ? answer.GetRawText() : answer.GetProperty("outcome").GetString());
            return 0;
        }));
        return command;
    }

    public static Command Circuit()
    {
        var url = CommonOptions.Url();
        var json = CommonOptions.Json();
        var system = new Argument<string>("system") { Description = "The system whose circuit to close" };
        var reset = new Command("reset", "Close a system's circuit now: deliveries waiting behind it go at once") { url, json, system };
        reset.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            using var client = new ApiClient(result.GetValue(url)!);
            var answer = await client.PostAsync($"/api/systems/{Uri.EscapeDataString(result.GetValue(system)!)}/circuit/reset", null, cancellationToken);
            Console.WriteLine(result.GetValue(json) ? answer.GetRawText() : answer.GetProperty("outcome").GetString());
            return 0;
        }));
        return new Command("circuit", "A system's circuit breaker") { reset };
    }

    /// <summary>Exit code 0 when every step passed (or could not be told), 2 when one failed.</summary>
    public static Command Check()
    {
        var url = CommonOptions.Url();
        var json = CommonOptions.Json();
        var system = new Argument<string>("system") { Description = "The system to test" };
        var command = new Command("check", "Test a system's connection: reachable, authenticated, the flows' operations allowed; prints the underlying error in full") { url, json, system };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            using var client = new ApiClient(result.GetValue(url)!);
            var answer = await client.PostAsync($"/api/systems/{Uri.EscapeDataString(result.GetValue(system)!)}/check", null, cancellationToken);
            var ok = answer.GetProperty("ok").GetBoolean();
            if (result.GetValue(json))
            {
                Console.WriteLine(answer.GetRawText());
                return ok ? 0 : 2;
            }
            Console.WriteLine($"system {answer.GetProperty("system").GetString()} ({answer.GetProperty("type").GetString()}): {(ok ? "ok" : "FAILED")}");
            foreach (var step in answer.GetProperty("steps").EnumerateArray())
                Console.WriteLine($"  {step.GetProperty("result").GetString(),-7} {step.GetProperty("name").GetString()}: {step.GetProperty("detail").GetString()}");
            return ok ? 0 : 2;
        }));
        return command;
    }

    public static Command DropWork()
    {
        var url = CommonOptions.Url();
        var flow = new Argument<string>("flow") { Description = "A flow removed from the configuration" };
        var command = new Command("drop-work", "Drop the pending deliveries and dead letters a removed flow left in the journal (status lists them under removedFlows)") { url, flow };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            using var client = new ApiClient(result.GetValue(url)!);
            var answer = await client.DeleteJsonAsync($"/api/flows/{Uri.EscapeDataString(result.GetValue(flow)!)}/work", cancellationToken);
            Console.WriteLine($"flow {result.GetValue(flow)}: {answer.GetProperty("dropped").GetInt32()} deliveries dropped");
            return 0;
        }));
        return command;
    }
}
