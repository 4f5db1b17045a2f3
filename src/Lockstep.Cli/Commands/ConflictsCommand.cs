using System.CommandLine;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace Lockstep.Cli.Commands;

/// <summary>
/// <c>lockstep conflicts [--all] [--pair P]</c> lists two-way conflicts (open ones by default);
/// <c>lockstep conflicts resolve ID --take source|target</c> or <c>--body JSON</c> settles a parked one.
/// </summary>
internal static class ConflictsCommand
{
    public static Command Create()
    {
        var url = CommonOptions.Url();
        var json = CommonOptions.Json();
        var all = new Option<bool>("--all") { Description = "Every recorded conflict, also those settled by a policy or an operator" };
        var pair = new Option<string?>("--pair") { Description = "Only this sync pair" };
        var command = new Command("conflicts", "Two-way sync conflicts: list, resolve") { url, json, all, pair };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            using var client = new ApiClient(result.GetValue(url)!);
            var query = new List<string>();
            if (result.GetValue(all)) query.Add("all=true");
            if (result.GetValue(pair) is { } p) query.Add("pair=" + Uri.EscapeDataString(p));
            var list = await client.GetAsync("/api/conflicts" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), cancellationToken);
            if (result.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(list, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            var table = new Table().AddColumns("id", "pair", "record", "policy", "outcome", "source", "target", "detected at", "resolved by");
            foreach (var c in list.EnumerateArray())
            {
                table.AddRow(
                    c.GetProperty("id").ToString(), Markup.Escape(c.GetProperty("pair").GetString()!),
                    Markup.Escape($"{c.GetProperty("entity").GetString()}/{c.GetProperty("key").GetString()}"),
                    c.GetProperty("policy").GetString()!, c.GetProperty("outcome").GetString()!,
                    Markup.Escape(Side(c, "source")), Markup.Escape(Side(c, "target")),
                    c.GetProperty("detectedAt").GetString() ?? "",
                    Markup.Escape(c.TryGetProperty("resolvedBy", out var by) ? by.GetString() ?? "" : ""));
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"{list.GetArrayLength()} conflict(s)");
            return 0;
        }));
        command.Subcommands.Add(Resolve());
        return command;
    }

    private static string Side(JsonElement conflict, string side)
    {
        if (conflict.TryGetProperty(side + "Deleted", out var deleted) && deleted.GetBoolean()) return "(deleted)";
        var text = conflict.TryGetProperty(side, out var data) ? data.GetString() ?? "" : "";
        return text.Length > 60 ? text[..57] + "..." : text;
    }

    private static Command Resolve()
    {
        var url = CommonOptions.Url();
        var id = new Argument<long>("id") { Description = "The conflict's id (from lockstep conflicts)" };
        var take = new Option<string?>("--take") { Description = "Keep one side's record: source or target" };
        take.AcceptOnlyFromAmong("source", "target");
        var body = new Option<string?>("--body") { Description = "Keep this record instead (a JSON object)" };
        var command = new Command("resolve", "Settle a parked conflict; the chosen record goes to both sides") { url, id, take, body };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            var chosen = result.GetValue(take);
            var custom = result.GetValue(body);
            if ((chosen is null) == (custom is null))
            {
                Console.Error.WriteLine("error: say how to resolve: --take source, --take target, or --body JSON (exactly one)");
                return 1;
            }
            string payload;
            if (custom is not null)
            {
                try
                {
                    using var parsed = JsonDocument.Parse(custom);
                    if (parsed.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("not an object");
                    payload = "{\"body\":" + parsed.RootElement.GetRawText() + "}";
                }
                catch (JsonException e)
                {
                    Console.Error.WriteLine($"error: --body must be a JSON object ({e.Message.Split(" Path:")[0]})");
                    return 1;
                }
            }
            else payload = JsonSerializer.Serialize(new { take = chosen });
            using var client = new ApiClient(result.GetValue(url)!);
            var answer = await client.PostRawAsync($"/api/conflicts/{result.GetValue(id)}/resolve", Encoding.UTF8.GetBytes(payload), cancellationToken);
            Console.WriteLine($"conflict {answer.GetProperty("id")} ({answer.GetProperty("entity").GetString()}/{answer.GetProperty("key").GetString()}): {answer.GetProperty("outcome").GetString()}");
            return 0;
        }));
        return command;
    }
}
