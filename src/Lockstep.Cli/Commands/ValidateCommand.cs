using System.CommandLine;
using Lockstep.Configuration;
using Lockstep.Host;

namespace Lockstep.Cli.Commands;

/// <summary><c>lockstep validate FILE</c>: the same checks as <c>run</c>; prints every error with file and line, or "ok".</summary>
internal static class ValidateCommand
{
    public static ConfigLoader Loader() => new(LockstepServiceCollectionExtensions.ConnectorFactories);

    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "The YAML config file" };
        var command = new Command("validate", "Check a config file; exit 0 and print ok, or print every error and exit 1") { file };
        command.SetAction(result =>
        {
            try
            {
                Loader().Load(result.GetValue(file)!);
                Console.WriteLine("ok");
                return 0;
            }
            catch (ConfigException e)
            {
                foreach (var error in e.Errors) Console.Error.WriteLine(error);
                return 1;
            }
        });
        return command;
    }
}
