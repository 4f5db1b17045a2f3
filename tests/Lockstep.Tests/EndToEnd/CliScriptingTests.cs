using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Lockstep.Host;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lockstep.Tests.EndToEnd;

/// <summary>
/// The CLI as scripts use it: output in pipes, formats, exit codes and one-line errors, and answers that say what
/// happened. A real Lockstep (Kestrel on port 0) and the real <c>lockstep</c> program as a child process.
/// </summary>
public sealed class CliScriptingTests
{
    private const string Refusal = "the registry refuses this record: field 'applicantName' must match the national register's spelling exactly; see https://registry.example/docs/errors#name-mismatch";

    private static string Yaml(string target, string extra = "") => $$"""
        storage: sqlite:lockstep.db
        {{extra}}
        systems:
          registry: { type: http, url: "{{target}}" }
        flows:
          permits-to-registry:
            on: [permitApproved]
            to: registry
            upsert: PUT /api/records/{key}
            retry: { maxAttempts: 3, initialDelay: 1h, maxDelay: 1h }
        """;

    private static string Event(string key, string type = "permitApproved", string? id = null) =>
        JsonSerializer.Serialize(new { id = id ?? $"permit:{key}:1", type, entity = "permit", key, version = 1, data = new { id = key } });

    [Fact]
    public async Task Dead_list_in_a_pipe_is_plain_text_one_line_per_dead_letter_with_errors_in_full_and_tsv_json_and_columns_on_request()
    {
        await using var target = await PartnerServer.StartAsync(app => app.MapPut("/api/records/{key}", () => Results.Text(Refusal, statusCode: 400)));
        await using var lockstep = await InProcess.StartAsync(Yaml(target.Url));
        await lockstep.PublishAsync(Event("O'Brien-1"), Event("O'Brien-2"), Event("O'Brien-3"));
        await Eventually.WaitAsync(async () => (await lockstep.Engine.StatusAsync(CancellationToken.None)).Systems["registry"].Dead == 3, "three dead letters");

        var plain = await LockstepProcess.RunAsync(["dead", "list", "--url", lockstep.Url]);
        var tsv = await LockstepProcess.RunAsync(["dead", "list", "--url", lockstep.Url, "--output", "tsv"]);
        var json = await LockstepProcess.RunAsync(["dead", "list", "--url", lockstep.Url, "--json"]);
        var table = await LockstepProcess.RunAsync(["dead", "list", "--url", lockstep.Url, "--output", "table", "--wide"], new Dictionary<string, string> { ["COLUMNS"] = "200" });
        var status = await LockstepProcess.RunAsync(["status", "--url", lockstep.Url]);

        var lines = plain.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(0, plain.ExitCode);
        Assert.Equal(4, lines.Length); // the header and one line per dead letter: `| wc -l` counts them
        Assert.StartsWith("id", lines[0], StringComparison.Ordinal);
        Assert.All(lines[1..], line => Assert.Contains(Refusal, line, StringComparison.Ordinal));
        Assert.DoesNotContain("─", plain.Output, StringComparison.Ordinal);
        var rows = tsv.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r').Split('\t')).ToList();
        Assert.Equal(4, rows.Count);
        Assert.All(rows, r => Assert.Equal(8, r.Length));
        Assert.All(rows[1..], r => Assert.Equal(("400", true), (r[5], r[6].EndsWith(Refusal, StringComparison.Ordinal))));
        Assert.Contains("\"entity\": \"permit\"", json.Output, StringComparison.Ordinal);
        Assert.Contains("O'Brien-1", json.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0027", json.Output, StringComparison.Ordinal);
        Assert.Equal(3, JsonDocument.Parse(json.Output).RootElement.GetArrayLength());
        var widest = table.Output.Split('\n').Max(l => l.TrimEnd('\r').Length);
        Assert.InRange(widest, 120, 200);
        Assert.Contains(status.Output.Split('\n'), l => l.StartsWith("registry", StringComparison.Ordinal) && l.Contains(Refusal, StringComparison.Ordinal));
    }

    [Fact]
    public void Json_output_keeps_characters_and_shows_nested_json_documents_as_objects()
    {
        using var conflict = JsonDocument.Parse("""[{"id":1,"note":"it's a+b <ok>","source":"{\"name\":\"O'Brien\",\"tags\":[1,2]}","target":"not json"}]""");
        using var stream = new MemoryStream();

        Lockstep.Cli.Commands.Output.WriteJson(stream, conflict.RootElement, ["source", "target"]);

        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        Assert.Contains("\"note\": \"it's a+b <ok>\"", text, StringComparison.Ordinal);
        var row = JsonDocument.Parse(text).RootElement[0];
        Assert.Equal(JsonValueKind.Object, row.GetProperty("source").ValueKind);
        Assert.Equal("O'Brien", row.GetProperty("source").GetProperty("name").GetString());
        Assert.Equal("not json", row.GetProperty("target").GetString());
    }

    [Theory]
    [InlineData("key", "add the scheme: http://127.0.0.1:{port}", "status", "--url", "127.0.0.1:{port}")]
    [InlineData("key", "'abc' is not a dead letter id", "dead", "drop", "abc")]
    [InlineData("key", "'7x' is not a dead letter id", "dead", "replay", "--id", "7x")]
    [InlineData("key", "no flow named 'permits-to-registri' (flows: permits-to-registry)", "dead", "list", "--flow", "permits-to-registri")]
    [InlineData("key", "no system named 'registri' (systems: registry)", "dead", "list", "--system", "registri")]
    [InlineData("key", "no flow named 'nope'", "dead", "replay", "--flow", "nope")]
    [InlineData("key", "no pair named 'nope'", "conflicts", "--pair", "nope")]
    [InlineData("key", "Argument 'html' not recognized. Must be one of: 'table' 'plain' 'tsv' (see lockstep dead list --help)", "dead", "list", "--output", "html")]
    [InlineData("none", "this server needs an API key: set LOCKSTEP_API_KEY to a key from its security.apiKeys", "status")]
    [InlineData("wrong", "the API key in LOCKSTEP_API_KEY is not valid", "status")]
    public async Task A_user_mistake_is_one_line_and_a_nonzero_exit_never_a_stack_trace(string key, string says, params string[] arguments)
    {
        const string Key = "ops-key-5b1e0c7d9a";
        var keys = $$"""
            security:
              apiKeys:
                - { name: ops, role: operator, key: "{{Key}}" }
            """;
        await using var lockstep = await InProcess.StartAsync(Yaml("http://127.0.0.1:9", keys));
        var port = new Uri(lockstep.Url).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var env = new Dictionary<string, string> { ["LOCKSTEP_API_KEY"] = key switch { "key" => Key, "wrong" => "wrong", _ => "" } };
        string[] line = [.. arguments.Select(a => a.Replace("{port}", port, StringComparison.Ordinal)), .. arguments.Contains("--url") ? [] : new[] { "--url", lockstep.Url }];

        var (code, output) = await LockstepProcess.RunAsync(line, env);

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var shown = $"lockstep {string.Join(' ', line)} -> {code}: {output}";
        Assert.True(code == 1, shown);
        Assert.True(lines.Length == 1, shown);
        Assert.True(lines[0].StartsWith("error: ", StringComparison.Ordinal) && lines[0].Contains(says.Replace("{port}", port, StringComparison.Ordinal), StringComparison.Ordinal), shown);
        Assert.DoesNotContain(Key, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_on_a_port_in_use_says_so_in_one_line_and_starts_no_delivery()
    {
        using var folder = new TempFolder();
        var accepting = false;
        var requests = 0;
        await using var target = await PartnerServer.StartAsync(app => app.MapPut("/api/records/{key}", () =>
        {
            if (!Volatile.Read(ref accepting)) return Results.StatusCode(503);
            Interlocked.Increment(ref requests);
            return Results.Ok();
        }));
        var config = Path.Combine(folder.Path, "lockstep.yaml");
        await File.WriteAllTextAsync(config, Yaml(target.Url).Replace("1h", "10ms", StringComparison.Ordinal).Replace("maxAttempts: 3", "maxAttempts: 1000", StringComparison.Ordinal));
        await using (var first = new LockstepProcess(config, new Dictionary<string, string>()))
        {
            // Pending deliveries in the journal: a start would send them at once.
            await first.StartAsync();
            var publish = await LockstepProcess.RunAsync(["publish", await EventsFileAsync(folder, [Event("P-1"), Event("P-2")]), "--url", first.Url]);
            Assert.Equal(0, publish.ExitCode);
            await Eventually.WaitAsync(async () => (await LockstepProcess.RunAsync(["status", "--url", first.Url, "--json"])).Output.Contains("HTTP 503", StringComparison.Ordinal), "a failed attempt");
            await first.KillAsync();
        }
        Volatile.Write(ref accepting, true);
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var busy = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";

        var (code, output) = await LockstepProcess.RunAsync(["run", "--config", config, "--urls", busy]);
        await using var second = new LockstepProcess(config, new Dictionary<string, string>());
        var before = Volatile.Read(ref requests);
        await second.StartAsync();
        await Eventually.WaitAsync(() => Task.FromResult(Volatile.Read(ref requests) >= 2), "the pending deliveries sent by a start that could listen");

        Assert.Equal(1, code);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal($"error: cannot listen on {busy}: the port is in use (another Lockstep, or another program?); choose another address with --urls or server.urls", line);
        Assert.Equal(0, before);
    }

    [Fact]
    public async Task Publish_that_fails_part_way_says_by_line_what_was_stored_and_what_was_not()
    {
        await using var lockstep = await InProcess.StartAsync(Yaml("http://127.0.0.1:9"));
        using var folder = new TempFolder();
        var lines = Enumerable.Range(1, 1000).Select(i => Event($"P-{i}", id: $"e-{i}")).ToList();
        lines[550] = """{"id":"e-551","type":"permitApproved","entity":"permit","key":"P-551","version":"two","data":{}}""";
        var file = await EventsFileAsync(folder, lines);
        using var http = new HttpClient();

        var (code, output) = await LockstepProcess.RunAsync(["publish", file, "--url", lockstep.Url]);
        var stored500 = await http.GetAsync($"{lockstep.Url}/api/events/e-500");
        var stored501 = await http.GetAsync($"{lockstep.Url}/api/events/e-501");

        Assert.Equal(1, code);
        Assert.Contains($"error: {file}:551: version: ", output, StringComparison.Ordinal);
        Assert.Contains($"{file}: lines 1–500 were stored (500 accepted, 0 duplicates); lines 501–1,000 were refused as one batch (none of them stored).", output, StringComparison.Ordinal);
        Assert.Contains($"tail -n +501 {file} | lockstep publish -", output, StringComparison.Ordinal);
        Assert.DoesNotContain("nothing was stored", output, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.NotFound), (stored500.StatusCode, stored501.StatusCode));
    }

    [Fact]
    public async Task An_event_no_flow_takes_is_counted_as_unrouted_in_the_answer_status_and_metrics_and_logged_once_per_type()
    {
        var logs = new CapturingLoggerProvider();
        await using var lockstep = await InProcess.StartAsync(Yaml("http://127.0.0.1:9"), logs);
        using var folder = new TempFolder();
        var first = await EventsFileAsync(folder, [Event("P-1"), Event("P-2", "permitAproved"), Event("P-3", "permitAproved")]);
        var second = await EventsFileAsync(folder, [Event("P-4", "permitAproved")]);
        using var http = new HttpClient();

        var publish = await LockstepProcess.RunAsync(["publish", first, "--url", lockstep.Url]);
        var again = await LockstepProcess.RunAsync(["publish", second, "--url", lockstep.Url]);
        var resent = await LockstepProcess.RunAsync(["publish", second, "--url", lockstep.Url]);
        var status = await LockstepProcess.RunAsync(["status", "--url", lockstep.Url, "--json"]);
        var metrics = await http.GetStringAsync($"{lockstep.Url}/metrics");

        Assert.Contains("3 events sent: 3 accepted, 0 duplicates; 2 unrouted (no flow takes type 'permitAproved': stored, delivered nowhere)", publish.Output, StringComparison.Ordinal);
        Assert.Contains("1 unrouted", again.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("unrouted", resent.Output, StringComparison.Ordinal); // a duplicate is not counted again
        var unrouted = JsonDocument.Parse(status.Output).RootElement.GetProperty("unrouted");
        Assert.Equal(3, unrouted.GetProperty("events").GetInt64());
        Assert.Equal(3, unrouted.GetProperty("types").GetProperty("permitAproved").GetInt64());
        Assert.Contains("lockstep_unrouted_events_total{type=\"permitAproved\"} 3", metrics, StringComparison.Ordinal);
        Assert.Single(logs.Lines, l => l.Contains("permitAproved", StringComparison.Ordinal) && l.Contains("match no flow", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sync_of_a_flow_says_how_many_it_made_due_and_how_many_are_pending()
    {
        await using var lockstep = await InProcess.StartAsync(Yaml("http://127.0.0.1:9"));
        await lockstep.PublishAsync(Event("P-1"), Event("P-2"), Event("P-3"));
        await Eventually.WaitAsync(async () =>
        {
            var flow = (await lockstep.Engine.StatusAsync(CancellationToken.None)).Flows["permits-to-registry"];
            return flow.Pending == 3 && flow.InFlight == 0 && flow.LastFailureAt is not null;
        }, "three failed first attempts waiting an hour for their retry");

        var (code, output) = await LockstepProcess.RunAsync(["sync", "permits-to-registry", "--url", lockstep.Url]);

        Assert.Equal(0, code);
        Assert.StartsWith("flow permits-to-registry: 3 waiting retries made due now; 3 pending in all", output.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_network_error_shows_its_inner_cause()
    {
        await using var lockstep = await InProcess.StartAsync(Yaml("http://127.0.0.1:9"));

        await lockstep.PublishAsync(Event("P-1"));
        await Eventually.WaitAsync(async () => (await lockstep.Engine.StatusAsync(CancellationToken.None)).Systems["registry"].LastError is not null, "a failed attempt");
        var (_, output) = await LockstepProcess.RunAsync(["status", "--url", lockstep.Url, "--json"]);

        var error = JsonDocument.Parse(output).RootElement.GetProperty("systems").GetProperty("registry").GetProperty("lastError").GetString();
        Assert.StartsWith("network error: ", error, StringComparison.Ordinal);
        Assert.Contains("Connection refused", error, StringComparison.Ordinal);
    }

    private static async Task<string> EventsFileAsync(TempFolder folder, IEnumerable<string> lines)
    {
        var path = Path.Combine(folder.Path, $"events-{Guid.NewGuid():N}.ndjson");
        await File.WriteAllLinesAsync(path, lines);
        return path;
    }

    /// <summary>A Lockstep as <c>lockstep run</c> builds it, in this process, on a free port; optionally with a log sink.</summary>
    private sealed class InProcess : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly TempFolder _folder;

        private InProcess(WebApplication app, TempFolder folder)
        {
            _app = app;
            _folder = folder;
            Url = app.ListeningUrl();
        }

        public string Url { get; }

        public Lockstep.Engines.LockstepEngine Engine => _app.Services.GetRequiredService<Lockstep.Engines.LockstepEngine>();

        public static async Task<InProcess> StartAsync(string yaml, ILoggerProvider? logs = null)
        {
            var folder = new TempFolder();
            var app = LockstepHost.Build(TestEngine.Load(yaml, folder.Path), "http://127.0.0.1:0", services =>
            {
                if (logs is not null) services.AddSingleton(logs);
            });
            await app.StartAsync();
            return new InProcess(app, folder);
        }

        public async Task PublishAsync(params string[] events)
        {
            using var http = new HttpClient();
            using var content = new StringContent("[" + string.Join(',', events) + "]", System.Text.Encoding.UTF8, "application/json");
            var response = await http.PostAsync($"{Url}/api/events", content);
            response.EnsureSuccessStatusCode();
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _folder.Dispose();
        }
    }
}
