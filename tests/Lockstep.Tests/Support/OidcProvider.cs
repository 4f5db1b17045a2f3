using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Lockstep.Tests.Support;

/// <summary>
/// A real OpenID provider: the npm package <c>oidc-provider</c> run by tests/node/oidc-provider.mjs on 127.0.0.1 and a
/// free port (installed by <c>install_node_tools</c> in tests/services.sh, which ./test.sh runs). It knows the client
/// lockstep-dashboard, the people olga (permit-ops), vera (permit-viewers) and nora (no Lockstep group), and service
/// clients whose client-credentials tokens carry groups.
/// </summary>
internal sealed class OidcProvider : IAsyncDisposable
{
    public const string DashboardSecret = "dashboard-secret-4e1f9a7c2b";
    private readonly Process _process;
    private int _disposed;

    private OidcProvider(Process process, string url)
    {
        _process = process;
        Url = url;
    }

    public string Url { get; }

    public static string ToolsFolder
    {
        get
        {
            var folder = new DirectoryInfo(AppContext.BaseDirectory);
            while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Lockstep.slnx"))) folder = folder.Parent;
            return Path.Combine(folder?.FullName ?? throw new InvalidOperationException("the repository root (Lockstep.slnx) is not above the test binaries"), "tests", "node");
        }
    }

    /// <summary>A tool installed in tests/node/node_modules; a clear failure saying how to install it when it is not.</summary>
    public static string Tool(string relative)
    {
        var path = Path.Combine(ToolsFolder, "node_modules", relative);
        if (!File.Exists(path))
            throw new InvalidOperationException($"{relative} is not installed: run ./test.sh, or `. tests/services.sh; install_node_tools` (npm ci in tests/node)");
        return path;
    }

    public static async Task<OidcProvider> StartAsync()
    {
        Tool("oidc-provider/package.json");
        var start = new ProcessStartInfo("node", Path.Combine(ToolsFolder, "oidc-provider.mjs"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = ToolsFolder,
        };
        start.Environment["OIDC_CLIENT_SECRET"] = DashboardSecret;
        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var errors = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (errors) errors.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(Eventually.Limit);
        try
        {
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("listening ", StringComparison.Ordinal)) return new OidcProvider(process, line["listening ".Length..].Trim());
            }
        }
        catch (OperationCanceledException)
        {
        }
        process.Kill(entireProcessTree: true);
        lock (errors) throw new InvalidOperationException($"the OpenID provider did not start: {errors}");
    }

    /// <summary>An access token from the token endpoint (client credentials) for <paramref name="client"/>, for <paramref name="resource"/>.</summary>
    public async Task<string> ClientTokenAsync(string client, string resource = "urn:lockstep")
    {
        using var http = new HttpClient();
        using var response = await http.PostAsync(Url + "/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = client,
            ["client_secret"] = client + "-secret",
            ["scope"] = "api",
            ["resource"] = resource,
        }));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    /// <summary>A token signed with the provider's key that it would not hand out (already expired), or with a stranger's key.</summary>
    public async Task<string> MintAsync(string[] groups, bool expired = false, bool strangerKey = false)
    {
        using var http = new HttpClient();
        using var response = await http.PostAsJsonAsync(Url + "/test/mint", new { sub = "minted-service", groups, expired, stranger = strangerKey });
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
