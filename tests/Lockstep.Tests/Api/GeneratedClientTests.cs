using System.Diagnostics;
using System.Text.Json;
using Lockstep.Host;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Api;

/// <summary>
/// A client generated from /openapi/v1.json by a real generator (swagger-typescript-api, plain JavaScript, installed in
/// tests/node by install_node_tools) publishes an event and reads the status with an API key, run by node.
/// </summary>
public sealed class GeneratedClientTests
{
    private const string Key = "pub-view-key-5c7e9a1b3d2f4608";

    // Imports the generated client and calls the operations by the names the document gives them (operationId).
    private const string Script = """
        import { Api } from "./client/Api.js";
        const [baseUrl, key] = process.argv.slice(2);
        const client = new Api({ baseUrl, baseApiParams: { headers: { "X-Api-Key": key } } });
        const ops = client.api ?? {};
        for (const name of ["postApiEvents", "getApiStatus"]) {
          if (typeof ops[name] !== "function") {
            console.log(JSON.stringify({ error: `the generated client has no ${name}`, has: Object.keys(ops) }));
            process.exit(2);
          }
        }
        const answer = async (call) => { try { return await call(); } catch (e) { return e; } };
        const published = await answer(() => ops.postApiEvents({ type: "supplyMoved", entity: "supply", key: "S-1", version: 1, data: { id: "S-1" } }));
        const status = await answer(() => ops.getApiStatus());
        console.log(JSON.stringify({
          publish: { status: published.status, body: published.data ?? published.error ?? null },
          status: { status: status.status, body: status.data ?? status.error ?? null },
        }));
        """;

    [Fact]
    public async Task A_client_generated_from_the_openapi_document_publishes_an_event_and_reads_status()
    {
        OidcProvider.Tool("swagger-typescript-api/package.json");
        using var folder = new TempFolder();
        const string yaml = """
            storage: sqlite:lockstep.db
            security:
              apiKeys:
                - { name: clerk-app, role: publisher, key: "${PUBLISHER_KEY}" }
                - { name: wallboard, role: viewer,    key: "${VIEWER_KEY}" }
            systems:
              logistics: { type: http, url: "http://127.0.0.1:9" }
            flows:
              aid-to-logistics: { entity: supply, to: logistics, upsert: "PUT /shipments/{key}" }
            """;
        const string viewer = "view-key-2468ace013579bdf";
        var env = new Dictionary<string, string> { ["PUBLISHER_KEY"] = Key, ["VIEWER_KEY"] = viewer };
        await using var app = LockstepHost.Build(TestEngine.Load(yaml, folder.Path, env), "http://127.0.0.1:0");
        await app.StartAsync();
        var url = app.ListeningUrl();
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        var document = Path.Combine(folder.Path, "openapi.json");
        await File.WriteAllTextAsync(document, await http.GetStringAsync("/openapi/v1.json"));
        var work = Path.Combine(folder.Path, "generated");
        Directory.CreateDirectory(work);
        await File.WriteAllTextAsync(Path.Combine(work, "package.json"), """{ "type": "module" }""");
        await File.WriteAllTextAsync(Path.Combine(work, "use-client.js"), Script);

        var (generated, generatorOutput, generatorErrors) = await RunAsync(work, "node", OidcProvider.Tool(".bin/swagger-typescript-api"), "generate",
            "--path", document, "--output", Path.Combine(work, "client"), "--name", "Api.ts", "--js", "--silent");
        Assert.True(generated == 0, $"the generator failed: {generatorOutput} {generatorErrors}");
        Assert.True(File.Exists(Path.Combine(work, "client", "Api.js")), $"no Api.js generated: {generatorOutput} {generatorErrors}");

        // The publisher key publishes; a second run with the viewer key reads the status (each role as it is meant).
        var (exit, output, errors) = await RunAsync(work, "node", "use-client.js", url, Key);
        Assert.True(exit == 0, output + errors);
        var (viewExit, viewOutput, viewErrors) = await RunAsync(work, "node", "use-client.js", url, viewer);
        Assert.True(viewExit == 0, viewOutput + viewErrors);

        using var asPublisher = JsonDocument.Parse(output);
        using var asViewer = JsonDocument.Parse(viewOutput);
        var publish = asPublisher.RootElement.GetProperty("publish");
        Assert.True(publish.GetProperty("status").GetInt32() == 202, output);
        Assert.True(publish.GetProperty("body").GetProperty("accepted").GetInt32() == 1, output);
        var status = asViewer.RootElement.GetProperty("status");
        Assert.True(status.GetProperty("status").GetInt32() == 200, viewOutput);
        Assert.Contains("aid-to-logistics", status.GetProperty("body").GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(Key, output + viewOutput + errors + viewErrors, StringComparison.Ordinal);
        await app.StopAsync();
    }

    private static async Task<(int Exit, string Output, string Errors)> RunAsync(string folder, string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Eventually.Limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish: {await stderr}");
        }
        return (process.ExitCode, (await stdout).Trim(), (await stderr).Trim());
    }
}
