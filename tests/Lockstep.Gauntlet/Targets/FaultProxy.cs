using System.Net;
using System.Net.Sockets;
using Lockstep.Gauntlet.Reporting;
using Lockstep.Gauntlet.Schedules;

namespace Lockstep.Gauntlet.Targets;

/// <summary>
/// A TCP proxy on 127.0.0.1 in front of a target, which Lockstep is configured to call. While a fault is set, a share of
/// new connections is refused, reset partway through the request, or reset after the request (the answer is lost);
/// an outage closes the port. Setting a fault resets the open connections, so kept-alive ones meet it too.
/// </summary>
internal sealed class FaultProxy : IAsyncDisposable
{
    private readonly IPEndPoint _upstream;
    private readonly Lock _gate = new();
    private readonly Random _random;
    private readonly HashSet<Socket> _open = [];
    private readonly List<Task> _connections = [];
    private Socket? _listener;
    private (ProxyFault Fault, double Rate, int Generation)? _fault;
    private int _generation;
    private bool _disposed;

    private FaultProxy(IPEndPoint upstream, int seed)
    {
        _upstream = upstream;
        _random = new Random(seed);
    }

    public int Port { get; private set; }

    public string Url => $"http://127.0.0.1:{Port}";

    public FaultCounts Injected { get; } = new();

    public static FaultProxy Start(string upstreamUrl, int seed)
    {
        var uri = new Uri(upstreamUrl);
        var proxy = new FaultProxy(new IPEndPoint(IPAddress.Loopback, uri.Port), seed);
        proxy.Listen(0);
        return proxy;
    }

    public int SetFault(ProxyFault fault, double rate)
    {
        Socket? closing = null;
        lock (_gate)
        {
            _fault = (fault, rate, ++_generation);
            if (fault == ProxyFault.Outage)
            {
                closing = _listener;
                _listener = null;
            }
        }
        closing?.Close();
        ResetOpen();
        return _generation;
    }

    public void ClearFault(int? generation = null)
    {
        lock (_gate)
        {
            if (_disposed || (generation is not null && _fault?.Generation != generation)) return;
            _fault = null;
            if (_listener is null) Listen(Port);
        }
    }

    private void Listen(int port)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(512);
        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        _listener = listener;
        Track(AcceptAsync(listener));
    }

    private async Task AcceptAsync(Socket listener)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            Track(ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        ProxyFault? fault;
        int cut;
        lock (_gate)
        {
            fault = _fault is { } f && f.Fault != ProxyFault.Outage && _random.NextDouble() < f.Rate ? f.Fault : null;
            cut = _random.Next(1, 160);
            _open.Add(client);
        }
        Socket? upstream = null;
        try
        {
            if (fault == ProxyFault.Refuse)
            {
                Injected.Add("proxy-refuse");
                return;
            }
            upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            lock (_gate) _open.Add(upstream);
            await upstream.ConnectAsync(_upstream);
            client.NoDelay = true;
            var up = PumpAsync(client, upstream, fault == ProxyFault.ResetMidRequest ? cut : long.MaxValue, "proxy-reset-mid-request");
            var down = PumpAsync(upstream, client, fault == ProxyFault.ResetAfterRequest ? 0 : long.MaxValue, "proxy-reset-after-request");
            if (await Task.WhenAny(up, down) is { IsFaulted: true })
            {
                Reset(client);
                Reset(upstream);
            }
            await Task.WhenAll(up, down);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            // A reset on either side ends both.
        }
        finally
        {
            Reset(client);
            if (upstream is not null) Reset(upstream);
        }
    }

    /// <summary>Copies one direction; past <paramref name="limit"/> bytes it resets both sides instead.</summary>
    private async Task PumpAsync(Socket from, Socket to, long limit, string kind)
    {
        var buffer = new byte[16 * 1024];
        long forwarded = 0;
        while (true)
        {
            var n = await from.ReceiveAsync(buffer, SocketFlags.None);
            if (n == 0)
            {
                to.Shutdown(SocketShutdown.Send);
                return;
            }
            if (forwarded + n > limit)
            {
                var part = (int)(limit - forwarded);
                if (part > 0) await to.SendAsync(buffer.AsMemory(0, part), SocketFlags.None);
                Injected.Add(kind);
                Reset(from);
                Reset(to);
                return;
            }
            await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
            forwarded += n;
        }
    }

    private void ResetOpen()
    {
        List<Socket> open;
        lock (_gate) open = [.. _open];
        foreach (var socket in open) Reset(socket);
    }

    private void Reset(Socket socket)
    {
        lock (_gate) _open.Remove(socket);
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }
        socket.Close();
    }

    private void Track(Task task)
    {
        lock (_gate)
        {
            _connections.RemoveAll(t => t.IsCompleted);
            _connections.Add(task);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Socket? listener;
        lock (_gate)
        {
            _disposed = true;
            listener = _listener;
            _listener = null;
        }
        listener?.Close();
        ResetOpen();
        List<Task> connections;
        lock (_gate) connections = [.. _connections];
        await Task.WhenAll(connections);
    }
}
