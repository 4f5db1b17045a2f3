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
        var command = new Command("status", "Show whether every system is in sync") { url, json };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            using var client = new ApiClient(result.GetValue(url)!);
            var status = await client.GetAsync("/api/status", cancellationToken);
            if (result.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(status, new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                var state = status.GetProperty("state").GetString();
                AnsiConsole.MarkupLine($"Lockstep is [bold {Color(state)}]{state}[/]");
                if (status.TryGetProperty("journal", out var journal) && journal.ValueKind == JsonValueKind.Object
                    && journal.GetProperty("state").GetString() is { } written && written != "ok")
                {
                    // The one state that stops everything: nothing can be accepted or recorded until the journal takes writes again.
                    var failing = string.Join(", ", journal.GetProperty("failing").EnumerateArray().Select(f => f.GetString()));
                    AnsiConsole.MarkupLine($"[bold red]Journal {Markup.Escape(written)}[/] since {journal.GetProperty("since")} ({Markup.Escape(failing)}): "
                        + $"{journal.GetProperty("uncommittedOutcomes")} outcomes wait to be committed; publishing answers 503. "
                        + $"Last error: {Markup.Escape(journal.TryGetProperty("lastError", out var error) ? error.GetString() ?? "" : "")}");
                }
                AnsiConsole.Write(Table("system", status.GetProperty("systems")));
                AnsiConsole.Write(Table("flow", status.GetProperty("flows")));
                if (status.TryGetProperty("pairs", out var pairs) && pairs.ValueKind == JsonValueKind.Object)
                {
                    // Two-way pairs: conflicts waiting for an operator (lockstep conflicts) are what matters here.
                    var table = new Table().AddColumns("sync pair", "policy", "open conflicts", "conflicts");
                    foreach (var pair in pairs.EnumerateObject())
                    {
                        var open = pair.Value.GetProperty("openConflicts").GetInt64();
                        table.AddRow(Markup.Escape(pair.Name), pair.Value.GetProperty("policy").GetString() ?? "",
                            open > 0 ? $"[yellow]{open}[/]" : "0", pair.Value.GetProperty("conflicts").ToString());
                    }
                    AnsiConsole.Write(table);
                }
            }
            return status.GetProperty("state").GetString() == "synced" ? 0 : 2;
        }));
        return command;
    }

    public static Table Table(string kind, JsonElement items)
    {
        var table = new Table().AddColumns(kind, "state", "pending", "in flight", "delivered", "dead", "lag", "circuit", "last error");
        foreach (var item in items.EnumerateObject())
        {
            var v = item.Value;
            var state = v.GetProperty("state").GetString();
            table.AddRow(
                Markup.Escape(item.Name),
                $"[{Color(state)}]{state}[/]",
                v.GetProperty("pending").ToString(),
                v.GetProperty("inFlight").ToString(),
                v.GetProperty("delivered").ToString(),
                v.GetProperty("dead").ToString(),
                $"{v.GetProperty("lagSeconds").GetDouble():0.0}s",
                v.GetProperty("circuit").GetString() ?? "",
                Markup.Escape(Shorten(v.TryGetProperty("lastError", out var e) ? e.GetString() : null)));
        }
        return table;
    }

    public static string Color(string? state) => state switch
    {
        "synced" => "green",
        "pending" => "yellow",
        _ => "red",
    };

    private static string Shorten(string? text) => text is null ? "" : text.Length > 60 ? text[..57] + "..." : text;
}
