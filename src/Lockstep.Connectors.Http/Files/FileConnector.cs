using System.Globalization;
using System.Text;
using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Records;

namespace Lockstep.Connectors.Http.Files;

/// <summary>
/// Appends <c>{"idempotencyKey","flow","type","entity","key","version","op","data"}</c> as one line (JSON Lines) and
/// fsyncs before reporting success. Delivery is at least once (a crash after the write and before the journal commit
/// writes the line again), so every line carries the idempotency key for consumers to dedupe by. With <c>daily</c> the
/// file name gets the UTC date (<c>permits-2026-11-23.jsonl</c>); past <c>maxSize</c> the file is renamed with a
/// timestamp and a new one is started.
/// </summary>
internal sealed class FileConnector(FileTargetOptions options, ConnectorContext context) : IConnector
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var line = Line(delivery, body);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var path = CurrentPath();
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            if (options.MaxSize is { } max && File.Exists(path) && new FileInfo(path).Length + line.Length > max)
            {
                var stamp = context.Time.GetUtcNow().ToString("yyyyMMdd'T'HHmmssfff", CultureInfo.InvariantCulture);
                var rotated = Path.Combine(Path.GetDirectoryName(path)!, $"{Path.GetFileNameWithoutExtension(path)}.{stamp}{Path.GetExtension(path)}");
                for (var n = 1; File.Exists(rotated); n++)
                    rotated = Path.Combine(Path.GetDirectoryName(path)!, $"{Path.GetFileNameWithoutExtension(path)}.{stamp}-{n}{Path.GetExtension(path)}");
                File.Move(path, rotated);
            }
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, 4096, FileOptions.None);
            await stream.WriteAsync(line, cancellationToken).ConfigureAwait(false);
            // Checkpoint: on disk before the delivery is reported done.
            stream.Flush(flushToDisk: true);
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
            _gate.Release();
        }
    }

    private string CurrentPath()
    {
        if (!options.Daily) return options.Path;
        var date = context.Time.GetUtcNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return Path.Combine(Path.GetDirectoryName(options.Path)!, $"{Path.GetFileNameWithoutExtension(options.Path)}-{date}{Path.GetExtension(options.Path)}");
    }

    private static byte[] Line(Delivery d, ReadOnlyMemory<byte> body)
    {
        static string Q(string s) => System.Text.Json.JsonSerializer.Serialize(s);
        var head = $"{{\"idempotencyKey\":{Q(d.IdempotencyKey)},\"flow\":{Q(d.Flow)},\"type\":{Q(d.EventType)},\"entity\":{Q(d.Entity)},\"key\":{Q(d.Key)},\"version\":{d.Version.ToString(CultureInfo.InvariantCulture)},\"op\":\"{(d.Op == RecordOp.Delete ? "delete" : "upsert")}\",\"data\":";
        var data = d.Op == RecordOp.Delete || body.IsEmpty ? "null"u8.ToArray() : body.ToArray();
        return [.. Encoding.UTF8.GetBytes(head), .. data, (byte)'}', (byte)'\n'];
    }

    public ValueTask<TargetRead> ReadAsync(Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken) =>
        ValueTask.FromResult(TargetRead.Failed("a file target cannot be read back"));

    public ValueTask DisposeAsync()
    {
        _gate.Dispose();
        return ValueTask.CompletedTask;
    }
}
