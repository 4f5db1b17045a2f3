using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace Lockstep.Cli.Commands;

/// <summary><c>lockstep status [--url]</c>: every system and flow with its state; exit 0 when synced, 2 when not.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var url = CommonOptions.Url();
        var json = CommonOptions.Json();
        var output = CommonOptions.Output();
        var wide = CommonOptions.Wide();
        var command = new Command("status", "Show whether every system is in sync") { url, json, output, wide };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            using var client = new ApiClient(result.GetValue(url)!);
            var status = await client.GetAsync("/api/status", cancellationToken);
            if (result.GetValue(json))
            {
                Output.Json(status);
                return Exit(status);
            }
            var format = Output.Resolve(result.GetValue(output));
            var table = format == OutputFormat.Table;
            var state = status.GetProperty("state").GetString();
            if (format != OutputFormat.Tsv)
            {
                if (table) Output.TableConsole().MarkupLine($"Lockstep is [bold {Color(state)}]{state}[/]");
                else Console.WriteLine($"Lockstep is {state}");
            }
            if (status.TryGetProperty("journal", out var journal) && journal.ValueKind == JsonValueKind.Object
                && journal.GetProperty("state").GetString() is { } written && written != "ok")
            {
                // The one state that stops everything: nothing can be accepted or recorded until the journal takes writes again.
                var failing = string.Join(", ", journal.GetProperty("failing").EnumerateArray().Select(f => f.GetString()));
                var line = $"Journal {written} since {journal.GetProperty("since")} ({failing}): "
                    + $"{journal.GetProperty("uncommittedOutcomes")} outcomes wait to be committed; publishing answers 503. "
                    + $"Last error: {(journal.TryGetProperty("lastError", out var error) ? error.GetString() ?? "" : "")}";
                Note(format, line);
            }
            if (status.TryGetProperty("unrouted", out var unrouted) && unrouted.ValueKind == JsonValueKind.Object && unrouted.GetProperty("events").GetInt64() is > 0 and var count)
            {
                var types = string.Join(", ", unrouted.GetProperty("types").EnumerateObject().Select(t => $"{t.Name} ({t.Value})"));
                Note(format, $"{count} published event(s) since start matched no flow (unrouted, delivered nowhere): {types}");
            }
            var wideText = result.GetValue(wide);
            Table("system", status.GetProperty("systems")).Write(format, wideText);
            if (!table) Console.WriteLine();
            Table("flow", status.GetProperty("flows")).Write(format, wideText);
            if (status.TryGetProperty("pairs", out var pairs) && pairs.ValueKind == JsonValueKind.Object)
            {
                // Two-way pairs: conflicts waiting for an operator (lockstep conflicts) are what matters here.
                var rows = new Rows("sync pair", "policy", "open conflicts", "conflicts").Color(2, open => open == "0" ? null : "yellow");
                foreach (var pair in pairs.EnumerateObject())
                {
                    rows.Add(pair.Name, pair.Value.GetProperty("policy").GetString(),
                        pair.Value.GetProperty("openConflicts").ToString(), pair.Value.GetProperty("conflicts").ToString());
                }
                if (!table) Console.WriteLine();
                rows.Write(format, wideText);
            }
            return Exit(status);
        }));
        return command;
    }

    /// <summary>A line beside the tables: on stdout, or on stderr for TSV (which holds rows only).</summary>
    private static void Note(OutputFormat format, string line)
    {
        if (format == OutputFormat.Tsv) Console.Error.WriteLine(line);
        else Console.WriteLine(line);
    }

    /// <summary>0 when synced, 2 otherwise: scripts can wait on it.</summary>
    private static int Exit(JsonElement status) => status.GetProperty("state").GetString() == "synced" ? 0 : 2;

    public static Rows Table(string kind, JsonElement items)
    {
        var rows = new Rows(kind, "state", "pending", "in flight", "delivered", "dead", "lag", "circuit", "last error").Long(8).Color(1, Color);
        foreach (var item in items.EnumerateObject())
        {
            var v = item.Value;
            rows.Add(
                item.Name,
                v.GetProperty("state").GetString(),
                v.GetProperty("pending").ToString(),
                v.GetProperty("inFlight").ToString(),
                v.GetProperty("delivered").ToString(),
                v.GetProperty("dead").ToString(),
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{v.GetProperty("lagSeconds").GetDouble():0.0}s"),
                v.GetProperty("circuit").GetString(),
                v.TryGetProperty("lastError", out var e) ? e.GetString() : null);
        }
        return rows;
    }

    public static string Color(string? state) => state switch
    {
        "synced" => "green",
        "pending" => "yellow",
        "degraded" => "orange1",
        _ => "red",
    };
}
