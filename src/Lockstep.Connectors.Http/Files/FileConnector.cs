using System.Globalization;
using System.Text;
using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Records;

namespace Lockstep.Connectors.Http.Files;

/// <summary>
/// Appends each record version as one line — JSON Lines <c>{"idempotencyKey","flow","type","entity","key","version","op","data"}</c>
/// or a CSV row (those fields, then the configured columns of the mapped record) — and fsyncs before reporting success:
/// once per batch (what the engine claimed for the flow in one pass), or once per delete. Delivery is at least once (a
/// crash after the write and before the journal commit writes the line again), so every line carries the idempotency
/// key for consumers to dedupe by. <c>{flow}</c> in the path gives each flow its own file; with <c>daily</c> the file
/// name gets the UTC date (<c>permits-2026-11-23.jsonl</c>); past <c>maxSize</c> the file is renamed with a timestamp
/// and a new one is started (a CSV file starts with its header line). A torn last line (a crash mid-write) is cut
/// before the next write, so every line in the file is whole.
/// </summary>
internal sealed class FileConnector(FileTargetOptions options, ConnectorContext context) : IConnector, IBatchConnector
{
    private static readonly string[] Fixed = ["idempotencyKey", "flow", "type", "entity", "key", "version", "op"];
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken) =>
        await WriteAsync([new BatchItem(delivery, body)], cancellationToken).ConfigureAwait(false);

    /// <summary>Batches leave as soon as the pass that claimed them ends: the point is one fsync for many lines, not waiting.</summary>
    public TimeSpan? Linger(FlowDefinition flow) => TimeSpan.Zero;

    public async ValueTask<IReadOnlyList<ConnectorResult>> ApplyBatchAsync(IReadOnlyList<BatchItem> items, FlowDefinition flow, CancellationToken cancellationToken)
    {
        var result = await WriteAsync(items, cancellationToken).ConfigureAwait(false);
        return [.. Enumerable.Repeat(result, items.Count)];
    }

    private async ValueTask<ConnectorResult> WriteAsync(IReadOnlyList<BatchItem> items, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        FileStream? stream = null;
        try
        {
            foreach (var item in items)
            {
                var path = CurrentPath(item.Delivery.Flow);
                var line = Line(item.Delivery, item.Body);
                if (stream is not null && (stream.Name != path || (options.MaxSize is { } limit && stream.Length + line.Length > limit)))
                {
                    await CloseAsync(stream, cancellationToken).ConfigureAwait(false);
                    stream = null;
                }
                stream ??= await OpenAsync(path, line.Length, cancellationToken).ConfigureAwait(false);
                await stream.WriteAsync(line, cancellationToken).ConfigureAwait(false);
            }
            // Checkpoint: every line of the batch is on disk before any of its deliveries is reported done.
            if (stream is not null) await CloseAsync(stream, cancellationToken).ConfigureAwait(false);
            stream = null;
            return ConnectorResult.Success();
        }
        catch (IOException e)
        {
            return ConnectorResult.Transient(context.Secrets.Redact($"cannot write {options.Path}: {e.Message}") ?? "");
        }
        catch (UnauthorizedAccessException e)
        {
            return ConnectorResult.Permanent(context.Secrets.Redact($"cannot write {options.Path}: {e.Message}") ?? "");
        }
        finally
        {
            if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
            _gate.Release();
        }
    }

    /// <summary>Opens the file for appending, rotating it first when <paramref name="next"/> more bytes would pass maxSize.</summary>
    private async ValueTask<FileStream> OpenAsync(string path, int next, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (options.MaxSize is { } max && new FileInfo(path) is { Exists: true, Length: > 0 } existing && existing.Length + next > max)
        {
            var stamp = context.Time.GetUtcNow().ToString("yyyyMMdd'T'HHmmssfff", CultureInfo.InvariantCulture);
            var rotated = Path.Combine(Path.GetDirectoryName(path)!, $"{Path.GetFileNameWithoutExtension(path)}.{stamp}{Path.GetExtension(path)}");
            for (var n = 1; File.Exists(rotated); n++)
                rotated = Path.Combine(Path.GetDirectoryName(path)!, $"{Path.GetFileNameWithoutExtension(path)}.{stamp}-{n}{Path.GetExtension(path)}");
            File.Move(path, rotated);
        }
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 64 * 1024, FileOptions.None);
        TrimTornLine(stream);
        if (options.Columns is { } columns && stream.Length == 0)
            await stream.WriteAsync(Encoding.UTF8.GetBytes(string.Join(',', Fixed.Concat(columns).Select(Csv)) + "\n"), cancellationToken).ConfigureAwait(false);
        return stream;
    }

    /// <summary>
    /// Cuts a last line that has no line break — what a process killed mid-write, or a write that failed with the disk
    /// full, leaves behind — so the next line starts on a line of its own. That tail was never reported delivered: its
    /// delivery is still pending and writes the whole line again. Leaves the stream at the end of the file.
    /// </summary>
    private static void TrimTornLine(FileStream stream)
    {
        var length = stream.Length;
        if (length == 0 || LastByte(stream, length) == (byte)'\n')
        {
            stream.Seek(0, SeekOrigin.End);
            return;
        }
        Span<byte> chunk = stackalloc byte[4096];
        var end = length;
        while (end > 0)
        {
            var start = Math.Max(0, end - chunk.Length);
            stream.Seek(start, SeekOrigin.Begin);
            var read = chunk[..(int)(end - start)];
            stream.ReadExactly(read);
            var newline = read.LastIndexOf((byte)'\n');
            if (newline >= 0)
            {
                end = start + newline + 1;
                break;
            }
            end = start;
        }
        stream.SetLength(end);
        stream.Seek(0, SeekOrigin.End);
    }

    private static byte LastByte(FileStream stream, long length)
    {
        stream.Seek(length - 1, SeekOrigin.Begin);
        return (byte)stream.ReadByte();
    }

    private static async ValueTask CloseAsync(FileStream stream, CancellationToken cancellationToken)
    {
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        stream.Flush(flushToDisk: true);
        await stream.DisposeAsync().ConfigureAwait(false);
    }

    private string CurrentPath(string flow)
    {
        var path = options.Path.Replace("{flow}", flow, StringComparison.Ordinal);
        if (!options.Daily) return path;
        var date = context.Time.GetUtcNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return Path.Combine(Path.GetDirectoryName(path)!, $"{Path.GetFileNameWithoutExtension(path)}-{date}{Path.GetExtension(path)}");
    }

    private byte[] Line(Delivery d, ReadOnlyMemory<byte> body)
    {
        var deleted = d.Op == RecordOp.Delete || body.IsEmpty;
        if (options.Columns is { } columns) return CsvLine(d, deleted ? (ReadOnlyMemory<byte>?)null : body, columns);
        static string Q(string s) => JsonSerializer.Serialize(s);
        var head = $"{{\"idempotencyKey\":{Q(d.IdempotencyKey)},\"flow\":{Q(d.Flow)},\"type\":{Q(d.EventType)},\"entity\":{Q(d.Entity)},\"key\":{Q(d.Key)},\"version\":{d.Version.ToString(CultureInfo.InvariantCulture)},\"op\":\"{(d.Op == RecordOp.Delete ? "delete" : "upsert")}\",\"data\":";
        var data = deleted ? "null"u8.ToArray() : body.ToArray();
        return [.. Encoding.UTF8.GetBytes(head), .. data, (byte)'}', (byte)'\n'];
    }

    private static byte[] CsvLine(Delivery d, ReadOnlyMemory<byte>? body, IReadOnlyList<string> columns)
    {
        var row = new StringBuilder();
        row.Append(Csv(d.IdempotencyKey)).Append(',').Append(Csv(d.Flow)).Append(',').Append(Csv(d.EventType)).Append(',').Append(Csv(d.Entity))
            .Append(',').Append(Csv(d.Key)).Append(',').Append(d.Version.ToString(CultureInfo.InvariantCulture)).Append(',').Append(d.Op == RecordOp.Delete ? "delete" : "upsert");
        using var document = body is { } json ? JsonDocument.Parse(json) : null;
        foreach (var column in columns)
        {
            row.Append(',');
            if (document is not null && Find(document.RootElement, column) is { } value) row.Append(Csv(Text(value)));
        }
        return Encoding.UTF8.GetBytes(row.Append('\n').ToString());
    }

    /// <summary>A dotted path (<c>owner.name</c>) into the mapped record; null when any step is missing.</summary>
    private static JsonElement? Find(JsonElement root, string path)
    {
        var current = root;
        foreach (var step in path.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(step, out current)) return null;
        }
        return current;
    }

    private static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Null => "",
        _ => value.GetRawText(),
    };

    /// <summary>RFC 4180: quoted (with doubled quotes) when the value holds a comma, a quote or a line break.</summary>
    private static string Csv(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public ValueTask<TargetRead> ReadAsync(Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken) =>
        ValueTask.FromResult(TargetRead.Failed("a file target cannot be read back"));

    public ValueTask DisposeAsync()
    {
        _gate.Dispose();
        return ValueTask.CompletedTask;
    }
}
