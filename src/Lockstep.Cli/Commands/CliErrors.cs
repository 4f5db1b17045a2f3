using Spectre.Console;

namespace Lockstep.Cli.Commands;

/// <summary>Turns the failures a verb expects (server down, error answer) into one clear line and exit code 1.</summary>
internal static class CliErrors
{
    public static async Task<int> Guard(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (HttpRequestException e)
        {
            Console.Error.WriteLine($"error: cannot reach Lockstep: {e.Message}");
            return 1;
        }
        catch (ApiException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    public static void Print(string markup) => AnsiConsole.MarkupLine(markup);
}
