using System.Net;
using System.Net.Sockets;

namespace Lockstep.Cli.Commands;

/// <summary>Whether <c>lockstep run</c> can listen where it is told to, asked before the engine starts.</summary>
internal static class ListenCheck
{
    /// <summary>One line saying what is wrong with <paramref name="urls"/> (a bad URL, a port in use), or null.</summary>
    public static string? Problem(string urls)
    {
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // Kestrel's wildcards (* and +) are not valid hosts in a URI.
            var parseable = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
            if (!Uri.TryCreate(parseable, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                return $"cannot listen on '{url}': not an http(s) URL ({(url.Contains("://", StringComparison.Ordinal) ? "use http:// or https://" : $"add the scheme: http://{url}")})";
            if (uri.Port == 0) continue;
            var address = uri.Host switch
            {
                "localhost" => IPAddress.Loopback,
                _ when IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) => ip,
                _ => null, // A host name: Kestrel binds what it resolves to, and says so itself.
            };
            if (address is null) continue;
            try
            {
                using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                // As Kestrel binds: a port left in TIME_WAIT is free; one held by a listener is not.
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(new IPEndPoint(address, uri.Port));
                socket.Listen();
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                return $"cannot listen on {url}: the port is in use (another Lockstep, or another program?); choose another address with --urls or server.urls";
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.AccessDenied)
            {
                return $"cannot listen on {url}: {e.Message}";
            }
        }
        return null;
    }
}
