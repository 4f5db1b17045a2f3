using System.Text.Json;
using Lockstep.Records;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Connectors;

public sealed class FileConnectorTests
{
    [Fact]
    public async Task Appends_one_json_line_per_version_with_its_idempotency_key_and_rotates_by_size()
    {
        using var folder = new TempFolder();
        var yaml = """
            storage: sqlite:lockstep.db
            systems:
              archive: { type: file, path: out/permits.jsonl, maxSize: 2KB }
            flows:
              permits-to-archive:
                entity: permit
                to: archive
                map: (p) => ({ id: p.id, status: p.status })
            """;
        await using var engine = await TestEngine.StartAsync(yaml, TimeProvider.System, folder: folder);

        await engine.PublishAsync([.. Enumerable.Range(1, 30).Select(i => TestEngine.Permit($"P-{i}", 1)), TestEngine.Permit("P-1", 2, op: RecordOp.Delete)]);
        await engine.WaitForStateAsync("synced");

        var files = Directory.GetFiles(Path.Combine(folder.Path, "out"), "permits*.jsonl");
        var lines = files.SelectMany(File.ReadAllLines).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.True(files.Length >= 2, $"expected rotation into several files, got {files.Length}");
        Assert.All(files, f => Assert.True(new FileInfo(f).Length <= 2048));
        // P-1's version 1 was superseded by its delete before it was sent: state sync sends only the newest.
        Assert.Equal(30, lines.Count);
        Assert.Equal(30, lines.Select(l => l.GetProperty("idempotencyKey").GetString()).Distinct().Count());
        Assert.Contains(lines, l => l.GetProperty("idempotencyKey").GetString() == "permits-to-archive:permit:P-7:1"
            && l.GetProperty("data").GetProperty("status").GetString() == "approved");
        Assert.Contains(lines, l => l.GetProperty("key").GetString() == "P-1" && l.GetProperty("op").GetString() == "delete"
            && l.GetProperty("data").ValueKind == JsonValueKind.Null);
    }
}
