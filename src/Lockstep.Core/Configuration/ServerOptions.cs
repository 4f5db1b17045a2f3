namespace Lockstep.Configuration;

/// <summary>The HTTP listener: where it binds and how large a request may be.</summary>
public sealed record ServerOptions(string? Urls, long MaxBodyBytes)
{
    public static ServerOptions Default { get; } = new(null, 4 * 1024 * 1024);
}
