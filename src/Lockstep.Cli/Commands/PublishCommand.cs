using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace Lockstep.Cli.Commands;

/// <summary>
/// <c>lockstep publish FILE [--url]</c>: sends events from a JSON array or NDJSON file in batches. A batch that fails
/// on the network is sent again (event ids make that safe); a rejected one stops the run, and the answer says by line of
/// the file what was stored, what was refused and why, and what was not sent.
/// </summary>
internal static class PublishCommand
{
    public static Command Create()
    {
        var url = CommonOptions.Url();
        var file = new Argument<string>("file") { Description = "A JSON array of events, or one event per line (NDJSON); - for stdin" };
        var batchSize = new Option<int>("--batch-size") { Description = "Events per request (1 to 10000)", DefaultValueFactory = _ => 500 };
        batchSize.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 10_000) r.AddError("--batch-size must be from 1 to 10000");
        });
        var command = new Command("publish", "Publish events from a file") { url, file, batchSize };
        command.SetAction((result, cancellationToken) => CliErrors.Guard(async () =>
        {
            var path = result.GetValue(file)!;
            var text = path == "-" ? await Console.In.ReadToEndAsync(cancellationToken) : await File.ReadAllTextAsync(path, cancellationToken);
            var name = path == "-" ? "stdin" : path;
            Input input;
            try
            {
                input = Split(text);
            }
            catch (InputException e)
            {
                return CliErrors.Fail($"{name}:{e.Line}: not JSON ({e.Message}); nothing was sent");
            }
            if (input.Events.Count == 0) return CliErrors.Fail($"{name}: no events in the file; nothing was sent");
            using var client = new ApiClient(result.GetValue(url)!);
            var tally = new Tally();
            var size = result.GetValue(batchSize);
            var sent = 0;
            async Task SendAllAsync(Action<int>? progress)
            {
                for (; sent < input.Events.Count; sent += size)
                {
                    var batch = input.Events.Skip(sent).Take(size).ToList();
                    var body = Encoding.UTF8.GetBytes("[" + string.Join(',', batch.Select(e => e.Json)) + "]");
                    tally.Add(await SendAsync(client, body, cancellationToken));
                    progress?.Invoke(batch.Count);
                }
            }
            try
            {
                if (input.Events.Count > 5 * size && AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
                {
                    await AnsiConsole.Progress().StartAsync(async context =>
                    {
                        var task = context.AddTask("publishing", maxValue: input.Events.Count);
                        await SendAllAsync(n => task.Increment(n));
                    });
                }
                else
                {
                    await SendAllAsync(null);
                }
            }
            catch (Exception e) when (e is ApiException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                foreach (var line in Stopped(name, input, sent, size, tally, e)) Console.Error.WriteLine(line);
                return 1;
            }
            Console.WriteLine($"{input.Events.Count} events sent: {tally}");
            return 0;
        }));
        return command;
    }

    /// <summary>What a stopped run stored, by line: the batches before the failing one; what that batch's answer was; what was not sent.</summary>
    internal static List<string> Stopped(string name, Input input, int sent, int size, Tally tally, Exception failure)
    {
        var batch = input.Events.Skip(sent).Take(size).ToList();
        var (first, last) = (batch[0].Line, batch[^1].Line);
        var lines = new List<string>();
        var refused = failure is ApiException { Status: >= 400 and < 500 };
        if (failure is ApiException { Fields.Count: > 0 } problem && refused)
        {
            const int Shown = 10;
            foreach (var (index, field, message) in problem.Fields.Take(Shown))
            {
                var where = index is { } i && i < batch.Count ? $"{name}:{batch[i].Line}" : name;
                var what = index is null ? field : field.StartsWith('[') && field.IndexOf(']', StringComparison.Ordinal) is var end and > 0 ? field[(end + 1)..].TrimStart('.') : field;
                lines.Add($"error: {where}: {(what.Length > 0 ? what + ": " : "")}{message}");
            }
            if (problem.Fields.Count > Shown) lines.Add($"error: ... and {problem.Fields.Count - Shown} more problem(s) in {input.Unit}s {Range(first, last)}");
        }
        else
        {
            lines.Add($"error: {input.Unit}s {Range(first, last)}: {(failure is ApiException api ? api.Message : $"cannot reach Lockstep: {Lockstep.Connectors.ErrorChain.Of(failure)}")}");
        }
        var stored = sent == 0 ? "nothing was stored before them" : $"{input.Unit}s {Range(input.Events[0].Line, input.Events[sent - 1].Line)} were stored ({tally})";
        var fate = refused ? $"{input.Unit}s {Range(first, last)} were refused as one batch (none of them stored)"
            : $"{input.Unit}s {Range(first, last)} may or may not have been stored (no clear answer; sending them again is safe for events with an id or a version)";
        var rest = sent + batch.Count < input.Events.Count ? $"; {input.Unit}s {Range(input.Events[sent + batch.Count].Line, input.Events[^1].Line)} were not sent" : "";
        lines.Add($"{name}: {stored}; {fate}{rest}.");
        if (input.Unit == "line" && name != "stdin")
            lines.Add($"To send the rest after fixing it: tail -n +{first} {name} | lockstep publish -");
        return lines;
    }

    private static string Range(int first, int last) => first == last
        ? first.ToString("N0", CultureInfo.InvariantCulture)
        : $"{first.ToString("N0", CultureInfo.InvariantCulture)}–{last.ToString("N0", CultureInfo.InvariantCulture)}";

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

    /// <summary>Each event's JSON text and where it is: its line in NDJSON, its position in an array.</summary>
    internal static Input Split(string text)
    {
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('['))
        {
            try
            {
                using var document = JsonDocument.Parse(trimmed);
                return new Input("event", [.. document.RootElement.EnumerateArray().Select((e, i) => new InputEvent(i + 1, e.GetRawText()))]);
            }
            catch (JsonException e)
            {
                throw new InputException((int)(e.LineNumber ?? 0) + 1 + text[..(text.Length - trimmed.Length)].Count(c => c == '\n'), e.Message.Split(" Path:")[0]);
            }
        }
        var list = new List<InputEvent>();
        var number = 0;
        foreach (var line in text.Split('\n'))
        {
            number++;
            if (line.Trim().Length == 0) continue;
            try
            {
                using var document = JsonDocument.Parse(line);
                list.Add(new InputEvent(number, document.RootElement.GetRawText()));
            }
            catch (JsonException e)
            {
                throw new InputException(number, e.Message.Split(" Path:")[0].Split(" LineNumber:")[0]);
            }
        }
        return new Input("line", list);
    }

    /// <summary>The events of a file; <paramref name="Unit"/> says what their numbers count (a line of NDJSON, an event of an array).</summary>
    internal sealed record Input(string Unit, List<InputEvent> Events);

    internal sealed record InputEvent(int Line, string Json);

    private sealed class InputException(int line, string message) : Exception(message)
    {
        public int Line { get; } = line;
    }

    /// <summary>The server's counts over the batches stored so far.</summary>
    internal sealed class Tally
    {
        private int _accepted;
        private int _duplicates;
        private int _stale;
        private int _unrouted;
        private readonly SortedSet<string> _unroutedTypes = new(StringComparer.Ordinal);

        public void Add(JsonElement answer)
        {
            _accepted += answer.GetProperty("accepted").GetInt32();
            _duplicates += answer.GetProperty("duplicates").GetInt32();
            _stale += answer.TryGetProperty("stale", out var s) ? s.GetInt32() : 0;
            _unrouted += answer.TryGetProperty("unrouted", out var u) ? u.GetInt32() : 0;
            if (answer.TryGetProperty("unroutedTypes", out var types) && types.ValueKind == JsonValueKind.Array)
                _unroutedTypes.UnionWith(types.EnumerateArray().Select(t => t.GetString() ?? ""));
        }

        public override string ToString() =>
            $"{_accepted} accepted, {_duplicates} duplicates"
            + (_stale > 0 ? $"; {_stale} of the accepted are older than the newest known version (stored, not sent)" : "")
            + (_unrouted > 0 ? $"; {_unrouted} unrouted (no flow takes type {string.Join(", ", _unroutedTypes.Select(t => $"'{t}'"))}: stored, delivered nowhere)" : "");
    }
}
