using System.CommandLine;
using System.Text.Json;

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
        var output = CommonOptions.Output();
        var wide = CommonOptions.Wide();
        var flow = new Option<string?>("--flow") { Description = "Only this flow" };
        var system = new Option<string?>("--system") { Description = "Only this system" };
        var command = new Command("list", "List dead letters") { url, json, output, wide, flow, system };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            using var client = new ApiClient(result.GetValue(url)!);
            var query = new List<string>();
            if (result.GetValue(flow) is { } f) query.Add("flow=" + Uri.EscapeDataString(f));
            if (result.GetValue(system) is { } s) query.Add("system=" + Uri.EscapeDataString(s));
            var list = await client.GetAsync("/api/dead" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), cancellationToken);
            if (result.GetValue(json))
            {
                Output.Json(list);
                return 0;
            }
            var rows = new Rows("id", "flow", "record", "version", "attempts", "status", "error", "dead at").Long(6);
            foreach (var d in list.EnumerateArray())
            {
                rows.Add(
                    d.GetProperty("id").ToString(), d.GetProperty("flow").GetString(),
                    $"{d.GetProperty("entity").GetString()}/{d.GetProperty("key").GetString()}",
                    d.GetProperty("version").ToString(), d.GetProperty("attempts").ToString(),
                    d.TryGetProperty("statusCode", out var sc) && sc.ValueKind == JsonValueKind.Number ? sc.ToString() : "",
                    d.TryGetProperty("error", out var e) ? e.GetString() : "",
                    d.GetProperty("deadAt").GetString());
            }
            var format = Output.Resolve(result.GetValue(output));
            rows.Write(format, result.GetValue(wide));
            if (format == OutputFormat.Table) Console.WriteLine($"{rows.Count} dead letter(s)");
            return 0;
        }));
        return command;
    }

    /// <summary>Dead-letter ids as given on the command line, or a one-line error naming the one that is not a number.</summary>
    internal static long[] Ids(IEnumerable<string> given) => [.. given.Select(id => long.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
        ? n : throw new CliUsageException($"'{id}' is not a dead letter id: ids are whole numbers, as lockstep dead list shows them"))];

    private static Command Replay()
    {
        var url = CommonOptions.Url();
        var flow = new Option<string?>("--flow") { Description = "Replay this flow's dead letters" };
        var ids = new Option<string[]>("--id") { Description = "Replay these dead letters (repeat --id)", AllowMultipleArgumentsPerToken = true };
        var all = new Option<bool>("--all") { Description = "Replay every dead letter" };
        var command = new Command("replay", "Send dead letters again with fresh attempts") { url, flow, ids, all };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            var chosen = Ids(result.GetValue(ids) ?? []);
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
        var id = new Argument<string>("id") { Description = "The dead letter to drop (its id from lockstep dead list)" };
        var command = new Command("drop", "Discard a dead letter") { url, id };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            var chosen = Ids([result.GetValue(id)!])[0];
            using var client = new ApiClient(result.GetValue(url)!);
            await client.DeleteAsync($"/api/dead/{chosen}", cancellationToken);
            Console.WriteLine($"dropped {chosen}");
            return 0;
        }));
        return command;
    }
}
