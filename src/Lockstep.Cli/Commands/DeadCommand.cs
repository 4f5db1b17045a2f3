using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace Lockstep.Cli.Commands;

/// <summary><c>lockstep dead list|replay|drop</c>: inspect, resend or discard what could not be delivered.</summary>
internal static class DeadCommand
{
    public static Command Create()
    {
        var command = new Command("dead", "Dead letters: list, replay, drop");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Replay());
        command.Subcommands.Add(Drop());
        return command;
    }

    private static Command List()
    {
        var url = CommonOptions.Url();
        var json = CommonOptions.Json();
        var flow = new Option<string?>("--flow") { Description = "Only this flow" };
        var system = new Option<string?>("--system") { Description = "Only this system" };
        var command = new Command("list", "List dead letters") { url, json, flow, system };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            using var client = new ApiClient(result.GetValue(url)!);
            var query = new List<string>();
            if (result.GetValue(flow) is { } f) query.Add("flow=" + Uri.EscapeDataString(f));
            if (result.GetValue(system) is { } s) query.Add("system=" + Uri.EscapeDataString(s));
            var list = await client.GetAsync("/api/dead" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), cancellationToken);
            if (result.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(list, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            var table = new Table().AddColumns("id", "flow", "record", "version", "attempts", "status", "error", "dead at");
            foreach (var d in list.EnumerateArray())
            {
                table.AddRow(
                    d.GetProperty("id").ToString(), Markup.Escape(d.GetProperty("flow").GetString()!),
                    Markup.Escape($"{d.GetProperty("entity").GetString()}/{d.GetProperty("key").GetString()}"),
                    d.GetProperty("version").ToString(), d.GetProperty("attempts").ToString(),
                    d.TryGetProperty("statusCode", out var sc) ? sc.ToString() : "",
                    Markup.Escape(d.TryGetProperty("error", out var e) ? e.GetString() ?? "" : ""),
                    d.GetProperty("deadAt").GetString() ?? "");
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"{list.GetArrayLength()} dead letter(s)");
            return 0;
        }));
        return command;
    }

    private static Command Replay()
    {
        var url = CommonOptions.Url();
        var flow = new Option<string?>("--flow") { Description = "Replay this flow's dead letters" };
        var ids = new Option<long[]>("--id") { Description = "Replay these dead letters (repeat --id)", AllowMultipleArgumentsPerToken = true };
        var all = new Option<bool>("--all") { Description = "Replay every dead letter" };
        var command = new Command("replay", "Send dead letters again with fresh attempts") { url, flow, ids, all };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            var chosen = result.GetValue(ids) ?? [];
            if (chosen.Length == 0 && result.GetValue(flow) is null && !result.GetValue(all))
            {
                Console.Error.WriteLine("error: say what to replay: --id N (repeatable), --flow NAME, or --all");
                return 1;
            }
            using var client = new ApiClient(result.GetValue(url)!);
            var body = new Dictionary<string, object>();
            if (chosen.Length > 0) body["ids"] = chosen;
            if (result.GetValue(flow) is { } f) body["flow"] = f;
            var answer = await client.PostAsync("/api/dead/replay", body, cancellationToken);
            Console.WriteLine($"replayed {answer.GetProperty("replayed").GetInt32()}");
            return 0;
        }));
        return command;
    }

    private static Command Drop()
    {
        var url = CommonOptions.Url();
        var id = new Argument<long>("id") { Description = "The dead letter to drop" };
        var command = new Command("drop", "Discard a dead letter") { url, id };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            using var client = new ApiClient(result.GetValue(url)!);
            await client.DeleteAsync($"/api/dead/{result.GetValue(id)}", cancellationToken);
            Console.WriteLine($"dropped {result.GetValue(id)}");
            return 0;
        }));
        return command;
    }
}
