using System.CommandLine;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace Lockstep.Cli.Commands;

/// <summary>
/// <c>lockstep publish FILE [--url]</c>: sends events from a JSON array or NDJSON file in arrays of 100. A batch that fails
/// on the network is sent again (event ids make that safe); a rejected one stops the run with the server's reasons.
/// </summary>
internal static class PublishCommand
{
    private const int BatchSize = 100;

    public static Command Create()
    {
        var url = CommonOptions.Url();
        var file = new Argument<string>("file") { Description = "A JSON array of events, or one event per line (NDJSON); - for stdin" };
        var command = new Command("publish", "Publish events from a file") { url, file };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            var path = result.GetValue(file)!;
            var text = path == "-" ? await Console.In.ReadToEndAsync(cancellationToken) : await File.ReadAllTextAsync(path, cancellationToken);
            List<string> events;
            try
            {
                events = Split(text);
            }
            catch (JsonException e)
            {
                Console.Error.WriteLine($"error: {path}: not a JSON array or NDJSON: {e.Message}");
                return 1;
            }
            using var client = new ApiClient(result.GetValue(url)!);
            int accepted = 0, duplicates = 0, stale = 0;
            async Task SendAllAsync(Action<int>? progress)
            {
                for (var i = 0; i < events.Count; i += BatchSize)
                {
                    var batch = events.Skip(i).Take(BatchSize).ToList();
                    var body = Encoding.UTF8.GetBytes("[" + string.Join(',', batch) + "]");
                    var answer = await SendAsync(client, body, cancellationToken);
                    accepted += answer.GetProperty("accepted").GetInt32();
                    duplicates += answer.GetProperty("duplicates").GetInt32();
                    stale += answer.TryGetProperty("stale", out var s) ? s.GetInt32() : 0;
                    progress?.Invoke(batch.Count);
                }
            }
            if (events.Count > 5 * BatchSize && AnsiConsole.Profile.Capabilities.Interactive)
            {
                await AnsiConsole.Progress().StartAsync(async context =>
                {
                    var task = context.AddTask("publishing", maxValue: events.Count);
                    await SendAllAsync(n => task.Increment(n));
                });
            }
            else
            {
                await SendAllAsync(null);
            }
            Console.WriteLine($"{events.Count} events sent: {accepted} accepted ({stale} older than known, ignored), {duplicates} duplicates");
            return 0;
        }));
        return command;
    }

    private static async Task<JsonElement> SendAsync(ApiClient client, byte[] body, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await client.PostRawAsync("/api/events", body, cancellationToken);
            }
            catch (Exception e) when (attempt < 5 && (e is HttpRequestException || e is ApiException { Status: >= 500 } || e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), TimeProvider.System, cancellationToken);
            }
        }
    }

    /// <summary>Each event's JSON text, from an array or from one object per line.</summary>
    internal static List<string> Split(string text)
    {
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('['))
        {
            using var document = JsonDocument.Parse(trimmed);
            return document.RootElement.EnumerateArray().Select(e => e.GetRawText()).ToList();
        }
        var list = new List<string>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Trim().Length == 0) continue;
            using var document = JsonDocument.Parse(line);
            list.Add(document.RootElement.GetRawText());
        }
        return list;
    }
}
