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

    [Fact]
    public async Task A_torn_last_line_left_by_a_crash_is_cut_before_the_next_line_is_written()
    {
        using var folder = new TempFolder();
        var yaml = """
            storage: sqlite:lockstep.db
            systems:
              archive: { type: file, path: out/permits.jsonl }
            flows:
              permits-to-archive:
                entity: permit
                to: archive
            """;
        Directory.CreateDirectory(Path.Combine(folder.Path, "out"));
        var file = Path.Combine(folder.Path, "out", "permits.jsonl");
        // One whole line, then a line a killed process left half written.
        File.WriteAllText(file, "{\"key\":\"P-0\"}\n{\"idempotencyKey\":\"permits-to-archive:permit:P-1:1\",\"fl");
        await using var engine = await TestEngine.StartAsync(yaml, TimeProvider.System, folder: folder);

        await engine.PublishAsync([TestEngine.Permit("P-1", 1), TestEngine.Permit("P-2", 1)]);
        await engine.WaitForStateAsync("synced");

        var lines = File.ReadAllLines(file);
        Assert.Equal(3, lines.Length);
        Assert.Equal("P-0", JsonDocument.Parse(lines[0]).RootElement.GetProperty("key").GetString());
        Assert.Equal(["P-1", "P-2"], lines[1..].Select(l => JsonDocument.Parse(l).RootElement.GetProperty("key").GetString()).Order());
    }

    [Fact]
    public async Task Csv_rows_carry_the_idempotency_key_and_the_chosen_columns_in_a_file_per_flow()
    {
        using var folder = new TempFolder();
        var yaml = """
            storage: sqlite:lockstep.db
            systems:
              warehouse: { type: file, path: "out/{flow}.csv", columns: [id, status, owner.lastName, location, missing] }
            flows:
              permits-to-warehouse:
                entity: permit
                to: warehouse
              revoked-to-warehouse:
                entity: permit
                to: warehouse
                filter: (p) => p.status === "revoked"
                map: (p) => ({ id: p.id, status: `${p.status}, "late"`, owner: p.owner })
            """;
        await using var engine = await TestEngine.StartAsync(yaml, TimeProvider.System, folder: folder);

        await engine.PublishAsync([.. Enumerable.Range(1, 20).Select(i => TestEngine.Permit($"P-{i}", 1)), TestEngine.Permit("P-21", 1, status: "revoked")]);
        await engine.WaitForStateAsync("synced");
        await engine.PublishAsync([TestEngine.Permit("P-21", 2, op: RecordOp.Delete)]);
        await engine.WaitForStateAsync("synced");

        var all = File.ReadAllLines(Path.Combine(folder.Path, "out", "permits-to-warehouse.csv"));
        var revoked = File.ReadAllLines(Path.Combine(folder.Path, "out", "revoked-to-warehouse.csv"));
        Assert.Equal("idempotencyKey,flow,type,entity,key,version,op,id,status,owner.lastName,location,missing", all[0]);
        Assert.Equal(23, all.Length);   // the header, 21 upserts, one delete
        Assert.Contains("""permits-to-warehouse:permit:P-7:1,permits-to-warehouse,permitApproved,permit,P-7,1,upsert,P-7,approved,Lovelace,"{""lat"":45.5,""lng"":-73.6}",""", all);
        Assert.Equal("permits-to-warehouse:permit:P-21:2,permits-to-warehouse,permitApproved,permit,P-21,2,delete,,,,,", all[^1]);
        Assert.Equal(all[0], revoked[0]);
        Assert.Equal(""""revoked-to-warehouse:permit:P-21:1,revoked-to-warehouse,permitApproved,permit,P-21,1,upsert,P-21,"revoked, ""late""",Lovelace,,"""", revoked[1]);
    }

    [Theory]
    [InlineData("path: out/p.csv", "systems.warehouse.columns: a csv file needs 'columns'")]
    [InlineData("path: out/p.txt, format: xml", "systems.warehouse.format: unknown format 'xml' (jsonl or csv)")]
    [InlineData("path: out/p.jsonl, columns: [id]", "systems.warehouse.columns: only applies with format: csv")]
    [InlineData("path: out/p.csv, columns: [id, owner..name]", "systems.warehouse.columns: 'owner..name' is not a field path")]
    public void File_settings_are_checked_at_load(string settings, string error)
    {
        using var folder = new TempFolder();
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              warehouse: { type: file, {{settings}} }
            flows:
              permits-to-warehouse: { entity: permit, to: warehouse }
            """;

        var errors = Assert.Throws<Lockstep.Configuration.ConfigException>(() => TestEngine.Load(yaml, folder.Path)).Errors;

        Assert.StartsWith(error, Assert.Single(errors).ToString().Split(": ", 2)[1], StringComparison.Ordinal);
    }
}
