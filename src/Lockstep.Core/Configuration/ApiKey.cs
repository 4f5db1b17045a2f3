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

/// <summary>Role names as written in config and claims.</summary>
public static class ApiRoles
{
    /// <summary>publisher, viewer or operator; null for anything else.</summary>
    public static ApiRole? Parse(string? text) => text switch
    {
        "publisher" => ApiRole.Publisher,
        "viewer" => ApiRole.Viewer,
        "operator" => ApiRole.Operator,
        _ => null,
    };
}
