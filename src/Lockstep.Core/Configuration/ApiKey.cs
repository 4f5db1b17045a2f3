namespace Lockstep.Configuration;

/// <summary>What a key may do. An operator can also view; a publisher only publishes.</summary>
public enum ApiRole
{
    Publisher = 0,
    Viewer = 1,
    Operator = 2,
}

/// <summary>A configured API key: its name (shown in logs and audit), its role, and only the SHA-256 of the key itself.</summary>
public sealed record ApiKey(string Name, ApiRole Role, byte[] Hash);
