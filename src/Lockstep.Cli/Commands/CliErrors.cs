using Lockstep.Connectors;
using Spectre.Console;

namespace Lockstep.Cli.Commands;

/// <summary>Turns the failures a verb expects (server down, error answer, a bad option value) into one clear line and exit code 1.</summary>
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
            return Fail($"cannot reach Lockstep: {ErrorChain.Of(e)}");
        }
        catch (TaskCanceledException e) when (e.InnerException is TimeoutException)
        {
            return Fail("Lockstep did not answer within 60 seconds");
        }
        catch (ApiException e)
        {
            return Fail(e.Message);
        }
        catch (CliUsageException e)
        {
            return Fail(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(e.Message);
        }
    }

    public static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 1;
    }

    public static void Print(string markup) => AnsiConsole.MarkupLine(markup);
}
