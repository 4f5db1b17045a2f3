namespace Lockstep.Configuration;

/// <summary>One config problem, located: <c>lockstep.yaml:17: flows.x.retry.maxDelay: ...</c>.</summary>
public sealed record ConfigError(string File, int Line, string Path, string Message)
{
    public override string ToString() =>
        string.IsNullOrEmpty(Path) ? $"{File}:{Line}: {Message}" : $"{File}:{Line}: {Path}: {Message}";
}
