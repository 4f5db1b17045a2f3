using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Connectors.Messaging;

/// <summary>
/// A broker process of the test's own (nats-server or Mosquitto, as tests/services.sh installs them) on a free loopback
/// port, configured to refuse logins and publishes as a production broker would; killed at the end.
/// </summary>
internal sealed class OwnBroker : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TempFolder _folder;

    private OwnBroker(Process process, TempFolder folder, int port)
    {
        _process = process;
        _folder = folder;
        Port = port;
    }

    public int Port { get; }

    /// <summary>nats-server with JetStream and the given <c>authorization { ... }</c> block.</summary>
    public static Task<OwnBroker> StartNatsAsync(string authorization) => StartAsync("/usr/sbin/nats-server", "Server is ready", (folder, port) =>
    {
        File.WriteAllText(Path.Combine(folder, "nats.conf"),
            $"listen: \"127.0.0.1:{port}\"\njetstream {{ store_dir: \"{folder}/js\" }}\nauthorization {{\n{authorization}\n}}\n");
        return ["-c", Path.Combine(folder, "nats.conf")];
    });

    /// <summary>Mosquitto without anonymous access: one user (MQTT 5 refusals) and an ACL file.</summary>
    public static Task<OwnBroker> StartMosquittoAsync(string user, string password, string acl) => StartAsync("/usr/sbin/mosquitto", " running", (folder, port) =>
    {
        using (var passwd = Process.Start(new ProcessStartInfo("/usr/bin/mosquitto_passwd", ["-c", "-b", Path.Combine(folder, "passwords"), user, password]) { RedirectStandardError = true })!)
        {
            passwd.WaitForExit();
            if (passwd.ExitCode != 0) throw new InvalidOperationException("mosquitto_passwd failed: " + passwd.StandardError.ReadToEnd());
        }
        File.WriteAllText(Path.Combine(folder, "acl"), acl);
        // "user root" keeps a root-run Mosquitto from switching to a user that cannot read this folder; as another user it changes nothing.
        File.WriteAllText(Path.Combine(folder, "mosquitto.conf"),
            $"user root\nlistener {port} 127.0.0.1\nallow_anonymous false\npassword_file {folder}/passwords\nacl_file {folder}/acl\n");
        return ["-c", Path.Combine(folder, "mosquitto.conf")];
    });

    /// <param name="ready">What the broker logs once it has loaded its users and serves clients (it may accept a TCP
    /// connection a moment before).</param>
    private static async Task<OwnBroker> StartAsync(string program, string ready, Func<string, int, string[]> configure)
    {
        var folder = new TempFolder();
        var port = FreePort();
        var info = new ProcessStartInfo(program, configure(folder.Path, port)) { RedirectStandardOutput = true, RedirectStandardError = true };
        var process = Process.Start(info)!;
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, line) => log.Enqueue(line.Data ?? "");
        process.ErrorDataReceived += (_, line) => log.Enqueue(line.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var broker = new OwnBroker(process, folder, port);
        try
        {
            await Eventually.WaitAsync(async () =>
            {
                if (process.HasExited) throw new InvalidOperationException($"{program} exited with {process.ExitCode}: {string.Join('\n', log)}");
                if (!log.Any(l => l.Contains(ready, StringComparison.Ordinal))) return false;
                using var client = new TcpClient();
                try
                {
                    await client.ConnectAsync(IPAddress.Loopback, port);
                    return true;
                }
                catch (SocketException)
                {
                    return false;
                }
            }, $"{program} listening on {port}");
        }
        catch
        {
            await broker.DisposeAsync();
            throw;
        }
        return broker;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        _folder.Dispose();
    }
}
