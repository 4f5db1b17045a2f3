namespace Lockstep.Configuration;

/// <summary>The config could not be loaded; <see cref="Errors"/> lists every problem found, each with file and line.</summary>
public sealed class ConfigException(IReadOnlyList<ConfigError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<ConfigError> Errors { get; } = errors;
}
