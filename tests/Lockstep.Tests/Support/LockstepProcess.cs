using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Lockstep.Tests.Support;

/// <summary>The real <c>lockstep</c> program as a child process (the build beside the tests), with its output kept.</summary>
internal sealed class LockstepProcess : IAsyncDisposable
{
    private static readonly string Program = Path.Combine(AppContext.BaseDirectory, "lockstep.dll");
    private readonly StringBuilder _output = new();
    private Process? _process;

    public LockstepProcess(string configPath, IReadOnlyDictionary<string, string> environment, params string[] extraArguments)
    {
        ExtraArguments = extraArguments;
        ConfigPath = configPath;
        Environment = environment;
        Url = $"http://127.0.0.1:{FreePort()}";
    }

    public string ConfigPath { get; }

    public IReadOnlyList<string> ExtraArguments { get; }

    public IReadOnlyDictionary<string, string> Environment { get; }

    public string Url { get; }

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public int Starts { get; private set; }

    public async Task StartAsync()
    {
        _process = Launch(["run", "--config", ConfigPath, "--urls", Url, .. ExtraArguments], Environment, _output);
        Starts++;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.WaitAsync(async () =>
        {
            if (_process.HasExited) throw new InvalidOperationException($"lockstep exited with {_process.ExitCode}:\n{Output}");
            try
            {
                return (await http.GetAsync($"{Url}/health/ready")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Not listening yet: a connection made while the port changes hands can fail raw ("Transport endpoint is
                // not connected" from the connect path) instead of wrapped in an HttpRequestException.
                return false;
            }
            catch (TaskCanceledException)
            {
                return false;
            }
        }, "lockstep ready");
    }

    /// <summary>SIGKILL: no shutdown code runs, exactly like a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        if (_process is null) return;
        _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    /// <summary>Sends a signal (<c>HUP</c>: reload) and returns once it is sent.</summary>
    public async Task SignalAsync(string signal)
    {
        var process = _process ?? throw new InvalidOperationException("not running");
        using var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as a service manager stops it; returns the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        var process = _process ?? throw new InvalidOperationException("not running");
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var code = process.ExitCode;
        process.Dispose();
        _process = null;
        return code;
    }

    /// <summary>Runs a CLI verb to completion and returns its exit code and output.</summary>
    public static Task<(int ExitCode, string Output)> RunAsync(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment = null) =>
        RunProgramAsync(Program, arguments, environment);

    /// <summary>Runs a .NET program (a dll beside the tests or an example's build) to completion.</summary>
    public static async Task<(int ExitCode, string Output)> RunProgramAsync(string dll, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var output = new StringBuilder();
        using var process = Launch(arguments, environment ?? new Dictionary<string, string>(), output, dll);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        process.WaitForExit();
        lock (output) return (process.ExitCode, output.ToString());
    }

    private static Process Launch(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, StringBuilder output, string? dll = null)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll ?? Program);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        info.Environment["NO_COLOR"] = "1";
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is null) return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
