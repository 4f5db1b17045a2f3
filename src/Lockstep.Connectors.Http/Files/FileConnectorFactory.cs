using Lockstep.Configuration;
using Lockstep.Sources;

namespace Lockstep.Connectors.Http.Files;

/// <summary><c>type: file</c>: appends each record version as one JSON line or CSV row to a local file, rotated by size and/or day.</summary>
public sealed class FileConnectorFactory : IConnectorFactory
{
    public string Type => "file";

    public IReadOnlyCollection<string> SystemKeys { get; } = ["path", "maxSize", "daily", "format", "columns"];

    public IReadOnlyCollection<string> FlowKeys { get; } = [];

    public object? BindSystem(ConfigSection system)
    {
        var path = system.String("path", required: true);
        var maxSize = system.Size("maxSize", 1024, long.MaxValue);
        var daily = system.Bool("daily") ?? false;
        var format = system.String("format") ?? (path?.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) == true ? "csv" : "jsonl");
        var columns = system.StringList("columns");
        IReadOnlyList<string>? csvColumns = null;
        if (format == "csv")
        {
            if (columns.Count == 0) system.Error("columns", "a csv file needs 'columns': the fields of the mapped record to write, e.g. [id, status, owner.name]");
            else if (columns.FirstOrDefault(c => c.Length == 0 || c.Split('.').Any(step => step.Length == 0)) is { } bad) system.Error("columns", $"'{bad}' is not a field path");
            else csvColumns = columns;
        }
        else if (format != "jsonl") system.Error("format", $"unknown format '{format}' (jsonl or csv)");
        else if (system.Has("columns")) system.Error("columns", "only applies with format: csv");
        if (path is null || (format == "csv" && csvColumns is null)) return null;
        var full = Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(system.Context.File)) ?? ".", path));
        return new FileTargetOptions(full, maxSize, daily, csvColumns);
    }

    public object? BindFlow(ConfigSection flow, SystemDefinition system) => null;

    public IConnector Create(SystemDefinition system, ConnectorContext context) => new FileConnector((FileTargetOptions)system.Settings!, context);

    public ISource CreateSource(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        throw new NotSupportedException("a file system cannot be polled yet");

    public string? CannotReconcile(FlowDefinition flow) => "a file target is append-only, so it cannot be reconciled";
}

/// <summary>
/// Where lines go: the file (<c>{flow}</c> replaced by the flow's name), the size at which it rotates, whether each UTC
/// day gets its own file, and for CSV the columns taken from the mapped record (null: JSON Lines).
/// </summary>
internal sealed record FileTargetOptions(string Path, long? MaxSize, bool Daily, IReadOnlyList<string>? Columns = null);
