namespace Lockstep.Configuration;

/// <summary>
/// The HTTP listener: where it binds, how large a request may be, and (when set) how many publish or webhook requests
/// one client address may make per second, with a burst allowance.
/// </summary>
public sealed record ServerOptions(string? Urls, long MaxBodyBytes, int? IntakeRequestsPerSecond = null, int IntakeBurst = 0)
{
    public static ServerOptions Default { get; } = new(null, 4 * 1024 * 1024);

    /// <summary>HTTPS for the listener (<c>server.tls</c>); null serves plain HTTP.</summary>
    public ServerTls? Tls { get; init; }
}
