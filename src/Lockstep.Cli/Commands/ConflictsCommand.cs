using System.CommandLine;
using System.Text;
using System.Text.Json;

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
        var output = CommonOptions.Output();
        var wide = CommonOptions.Wide();
        var all = new Option<bool>("--all") { Description = "Every recorded conflict, also those settled by a policy or an operator" };
        var pair = new Option<string?>("--pair") { Description = "Only this sync pair" };
        var command = new Command("conflicts", "Two-way sync conflicts: list, resolve") { url, json, output, wide, all, pair };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            using var client = new ApiClient(result.GetValue(url)!);
            var query = new List<string>();
            if (result.GetValue(all)) query.Add("all=true");
            if (result.GetValue(pair) is { } p) query.Add("pair=" + Uri.EscapeDataString(p));
            var list = await client.GetAsync("/api/conflicts" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), cancellationToken);
            if (result.GetValue(json))
            {
                // Each side's record is a JSON document: shown as one, not as a string of escaped JSON.
                Output.Json(list, "base", "source", "target", "result");
                return 0;
            }
            var rows = new Rows("id", "pair", "record", "policy", "outcome", "source", "target", "detected at", "resolved by").Long(5, 6);
            foreach (var c in list.EnumerateArray())
            {
                rows.Add(
                    c.GetProperty("id").ToString(), c.GetProperty("pair").GetString(),
                    $"{c.GetProperty("entity").GetString()}/{c.GetProperty("key").GetString()}",
                    c.GetProperty("policy").GetString(), c.GetProperty("outcome").GetString(),
                    Side(c, "source"), Side(c, "target"),
                    c.GetProperty("detectedAt").GetString(),
                    c.TryGetProperty("resolvedBy", out var by) ? by.GetString() : "");
            }
            var format = Output.Resolve(result.GetValue(output));
            rows.Write(format, result.GetValue(wide));
            if (format == OutputFormat.Table) Console.WriteLine($"{rows.Count} conflict(s)");
            return 0;
        }));
        command.Subcommands.Add(Resolve());
        return command;
    }

    private static string Side(JsonElement conflict, string side)
    {
        if (conflict.TryGetProperty(side + "Deleted", out var deleted) && deleted.GetBoolean()) return "(deleted)";
        return conflict.TryGetProperty(side, out var data) ? data.GetString() ?? "" : "";
    }

    private static Command Resolve()
    {
        var url = CommonOptions.Url();
        var id = new Argument<string>("id") { Description = "The conflict's id (from lockstep conflicts)" };
        var take = new Option<string?>("--take") { Description = "Keep one side's record: source or target" };
        take.AcceptOnlyFromAmong("source", "target");
        var body = new Option<string?>("--body") { Description = "Keep this record instead (a JSON object)" };
        var command = new Command("resolve", "Settle a parked conflict; the chosen record goes to both sides") { url, id, take, body };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            if (!long.TryParse(result.GetValue(id), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var conflictId))
                return CliErrors.Fail($"'{result.GetValue(id)}' is not a conflict id: ids are whole numbers, as lockstep conflicts shows them");
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
            var answer = await client.PostRawAsync($"/api/conflicts/{conflictId}/resolve", Encoding.UTF8.GetBytes(payload), cancellationToken);
            Console.WriteLine($"conflict {answer.GetProperty("id")} ({answer.GetProperty("entity").GetString()}/{answer.GetProperty("key").GetString()}): {answer.GetProperty("outcome").GetString()}");
            return 0;
        }));
        return command;
    }
}
