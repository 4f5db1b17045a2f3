using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Lockstep.Gauntlet.Running;

/// <summary>The real <c>lockstep run</c> (the build beside the gauntlet) as a child process: started, SIGKILLed, stopped, continued.</summary>
internal sealed class LockstepProcess : IAsyncDisposable
{
    private static readonly string Program = Path.Combine(AppContext.BaseDirectory, "lockstep.dll");
    private readonly Queue<string> _output = new();
    private readonly string _configPath;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private Process? _process;

    public LockstepProcess(string configPath, IReadOnlyDictionary<string, string> environment)
    {
        _configPath = configPath;
        _environment = environment;
        Url = $"http://127.0.0.1:{FreePort()}";
    }

    public string Url { get; }

    public int Starts { get; private set; }

    /// <summary>The last lines it wrote (stdout and stderr), for a failure report.</summary>
    public string Tail()
    {
        lock (_output) return string.Join('\n', _output);
    }

    public async Task StartAsync(TimeSpan limit)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])[Program, "run", "--config", _configPath, "--urls", Url]) info.ArgumentList.Add(argument);
        foreach (var (name, value) in _environment) info.Environment[name] = value;
        info.Environment["NO_COLOR"] = "1";
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        Starts++;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited) throw new GauntletException($"lockstep exited with {process.ExitCode}:\n{Tail()}");
            if (deadline.Elapsed > limit) throw new GauntletException($"lockstep not ready after {limit.TotalSeconds:0}s:\n{Tail()}");
            try
            {
                if ((await http.GetAsync($"{Url}/health/ready")).IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, like a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        if (_process is null) return;
        _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    public Task StopAsync() => SignalAsync("-STOP");

    public Task ContinueAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        var process = _process ?? throw new InvalidOperationException("lockstep is not running");
        using var kill = Process.Start("kill", [signal, process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0) throw new GauntletException($"kill {signal} {process.Id} failed with {kill.ExitCode}");
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > 40) _output.Dequeue();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is null) return;
        if (!_process.HasExited) await ContinueAsync();
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }
}

/// <summary>The gauntlet itself could not run a step (not a divergence of Lockstep's).</summary>
internal sealed class GauntletException(string message) : Exception(message);
