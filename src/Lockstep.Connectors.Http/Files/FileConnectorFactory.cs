using Lockstep.Configuration;
using Lockstep.Sources;

namespace Lockstep.Connectors.Http.Files;

/// <summary><c>type: file</c>: appends each record version as one JSON line to a local file, rotated by size and/or day.</summary>
public sealed class FileConnectorFactory : IConnectorFactory
{
    public string Type => "file";

    public IReadOnlyCollection<string> SystemKeys { get; } = ["path", "maxSize", "daily"];

    public IReadOnlyCollection<string> FlowKeys { get; } = [];

    public object? BindSystem(ConfigSection system)
    {
        var path = system.String("path", required: true);
        var maxSize = system.Size("maxSize", 1024, long.MaxValue);
        var daily = system.Bool("daily") ?? false;
        if (path is null) return null;
        var full = Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(system.Context.File)) ?? ".", path));
        return new FileTargetOptions(full, maxSize, daily);
    }

    public object? BindFlow(ConfigSection flow, SystemDefinition system) => null;

    public IConnector Create(SystemDefinition system, ConnectorContext context) => new FileConnector((FileTargetOptions)system.Settings!, context);

    public ISource CreateSource(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        throw new NotSupportedException("a file system cannot be polled yet");

    public string? CannotReconcile(FlowDefinition flow) => "a file target is append-only, so it cannot be reconciled";
}

/// <summary>Where lines go: the file, the size at which it rotates, and whether each UTC day gets its own file.</summary>
internal sealed record FileTargetOptions(string Path, long? MaxSize, bool Daily);
