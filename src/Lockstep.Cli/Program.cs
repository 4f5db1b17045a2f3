using System.CommandLine;
using Lockstep.Cli.Commands;

var root = new RootCommand("Lockstep keeps external systems in lockstep with a system of record.");
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(ValidateCommand.Create());
root.Subcommands.Add(StatusCommand.Create());
root.Subcommands.Add(DeadCommand.Create());
root.Subcommands.Add(PublishCommand.Create());
root.Subcommands.Add(SyncCommand.Create());
root.Subcommands.Add(BackfillCommand.Create());
root.Subcommands.Add(ConflictsCommand.Create());
root.Subcommands.Add(DecryptCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(ControlCommands.Pause());
root.Subcommands.Add(ControlCommands.Resume());
root.Subcommands.Add(ControlCommands.Circuit());
root.Subcommands.Add(ControlCommands.Check());
root.Subcommands.Add(ControlCommands.DropWork());
root.Subcommands.Add(JournalCommand.Create());
root.Subcommands.Add(ReloadCommand.Create());
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // A mistake on the command line: what is wrong, one line each, and where the usage is; never the whole help text.
    var usage = string.Join(' ', ["lockstep", .. CommandPath(parsed.CommandResult), "--help"]);
    for (var i = 0; i < parsed.Errors.Count; i++)
        Console.Error.WriteLine($"error: {string.Join(' ', parsed.Errors[i].Message.Split((char[])[' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))}" + (i == parsed.Errors.Count - 1 ? $" (see {usage})" : ""));
    return 1;
}
try
{
    return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (e is not OperationCanceledException && Environment.GetEnvironmentVariable("LOCKSTEP_DEBUG") is not "1")
{
    // A failure no verb expected: its message in one line; LOCKSTEP_DEBUG=1 shows the stack trace.
    Console.Error.WriteLine($"error: {Lockstep.Connectors.ErrorChain.Of(e)} ({e.GetType().Name}; set LOCKSTEP_DEBUG=1 for details)");
    return 1;
}

static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult? result)
{
    var names = new Stack<string>();
    for (var r = result; r?.Parent is System.CommandLine.Parsing.CommandResult parent; r = parent) names.Push(r.Command.Name);
    return names;
}
