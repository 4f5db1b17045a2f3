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
return await root.Parse(args).InvokeAsync();
