using System.Security.Cryptography;
using Lockstep.Cli.Demo;
using Lockstep.Encryption;
using Lockstep.Events;
using Lockstep.Records;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Deliveries;

public sealed class EncryptionTests
{
    private const string Phone = "+1-555-0100-7731";

    [Fact]
    public async Task Encrypted_field_leaves_only_as_an_envelope_that_the_key_opens()
    {
        await using var registry = await SampleRegistry.StartAsync(failureRate: 0);
        var key = RandomNumberGenerator.GetBytes(32);
        var yaml = $$"""
            storage: sqlite:lockstep.db
            systems:
              logistics: { type: http, url: "{{registry.Url}}" }
            flows:
              aid-to-logistics:
                entity: supply
                to: logistics
                map: (s) => ({ id: s.id, item: s.item, qty: s.qty, recipient: s.recipient })
                encrypt: { fields: [recipient.phone], key: "${FIELD_KEY}", keyId: k1 }
                upsert: PUT /api/records/{key}
            """;
        await using var engine = await TestEngine.StartAsync(yaml, TimeProvider.System, new Dictionary<string, string> { ["FIELD_KEY"] = Convert.ToBase64String(key) });

        await engine.PublishAsync(new Event("s1", "supplyMoved", "supply", "S-1", 1, RecordOp.Upsert,
            $$"""{"id":"S-1","item":"water","qty":40,"recipient":{"name":"Shelter 4","phone":"{{Phone}}" """ + "}}"));
        await engine.WaitForStateAsync("synced");
        var body = Assert.Single(registry.Requests).Body;
        var opened = FieldEnvelope.Open(body, new Dictionary<string, byte[]> { ["k1"] = key });

        Assert.DoesNotContain(Phone, body);
        Assert.Contains("\"lockstep:enc\":\"v1\"", body);
        Assert.Contains("\"kid\":\"k1\"", body);
        Assert.Contains($"\"phone\":\"{Phone}\"", opened);
        Assert.Contains("\"name\":\"Shelter 4\"", body);
        Assert.Throws<AuthenticationTagMismatchException>(() => FieldEnvelope.Open(body, new Dictionary<string, byte[]> { ["k1"] = RandomNumberGenerator.GetBytes(32) }));
    }

    [Fact]
    public async Task Decrypt_helper_opens_envelopes_with_keys_from_the_environment()
    {
        using var folder = new TempFolder();
        var key = RandomNumberGenerator.GetBytes(32);
        var sealedJson = System.Text.Encoding.UTF8.GetString(FieldEnvelope.Seal("""{"recipient":{"phone":"555"},"qty":3}"""u8,
            new EncryptOptions(["recipient.phone", "qty"], new FieldKey("k2", key))));
        var file = Path.Combine(folder.Path, "body.json");
        await File.WriteAllTextAsync(file, sealedJson);

        var (code, output) = await LockstepProcess.RunAsync(["decrypt", file, "--key", "k2=OPS_FIELD_KEY"],
            new Dictionary<string, string> { ["OPS_FIELD_KEY"] = Convert.ToBase64String(key) });
        var (wrongCode, _) = await LockstepProcess.RunAsync(["decrypt", file, "--key", "k1=OPS_FIELD_KEY"],
            new Dictionary<string, string> { ["OPS_FIELD_KEY"] = Convert.ToBase64String(key) });

        Assert.Equal((0, """{"recipient":{"phone":"555"},"qty":3}"""), (code, output.Trim()));
        Assert.Equal(1, wrongCode);
    }

    [Fact]
    public async Task Sensitive_fields_stay_sealed_in_the_journal_and_survive_a_key_rotation()
    {
        using var folder = new TempFolder();
        await using var registry = await SampleRegistry.StartAsync(failureRate: 0);
        var down = true;
        registry.Override = _ => Volatile.Read(ref down) ? 503 : null;
        var (oldKey, newKey) = (Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        string Yaml(string security) => $$"""
            storage: sqlite:lockstep.db
            {{security}}
            entities:
              supply: { sensitive: [recipient.phone, recipient.name] }
            systems:
              logistics: { type: http, url: "{{registry.Url}}", circuit: { minimumThroughput: 1000 } }
            flows:
              aid-to-logistics:
                entity: supply
                to: logistics
                upsert: PUT /api/records/{key}
                retry: { maxAttempts: 100, initialDelay: 10ms, maxDelay: 50ms }
            """;
        var env = new Dictionary<string, string> { ["OLD_KEY"] = oldKey, ["NEW_KEY"] = newKey };
        await using (var first = await TestEngine.StartAsync(Yaml("security: { journalKey: \"${OLD_KEY}\" }"), TimeProvider.System, env, folder))
        {
            await first.PublishAsync(new Event("s1", "supplyMoved", "supply", "S-1", 1, RecordOp.Upsert,
                $$"""{"id":"S-1","qty":40,"recipient":{"name":"Shelter 4","phone":"{{Phone}}" """ + "}}"));
            await Eventually.WaitAsync(() => !registry.Requests.IsEmpty, "a failed attempt");
        }
        var journal = Directory.GetFiles(folder.Path, "lockstep.db*").Where(f => !f.EndsWith(".key", StringComparison.Ordinal))
            .SelectMany(File.ReadAllBytes).ToArray(); // the database and its write-ahead log
        Assert.True(journal.AsSpan().IndexOf("0100-7731"u8) < 0, "the journal holds the phone in plaintext");
        Assert.True(journal.AsSpan().IndexOf("Shelter 4"u8) < 0, "the journal holds the name in plaintext");
        Assert.True(journal.AsSpan().IndexOf("\"qty\":40"u8) >= 0, "other fields stay readable");

        Volatile.Write(ref down, false);
        await using var second = await TestEngine.StartAsync(
            Yaml("security: { journalKey: \"${NEW_KEY}\", previousJournalKeys: [\"${OLD_KEY}\"] }"), TimeProvider.System, env, folder);
        await second.WaitForStateAsync("synced");

        var delivered = registry.Requests.Last().Body;
        Assert.Contains($"\"phone\":\"{Phone}\"", delivered);
        Assert.Contains("\"name\":\"Shelter 4\"", delivered);
        Assert.DoesNotContain("lockstep:enc", delivered);
    }

    [Fact]
    public void A_journal_key_that_is_not_32_bytes_is_a_config_error_naming_the_key()
    {
        var yaml = """
            security: { journalKey: "${SHORT}" }
            entities:
              supply: { sensitive: [recipient.] }
            systems:
              logistics: { type: http, url: "http://127.0.0.1:9" }
            flows:
              f:
                entity: supply
                to: logistics
                upsert: PUT /x/{key}
            """;
        var errors = Assert.Throws<Lockstep.Configuration.ConfigException>(() =>
            TestEngine.Load(yaml, "/tmp", new Dictionary<string, string> { ["SHORT"] = Convert.ToBase64String(new byte[16]) })).Errors;

        Assert.Contains(errors, e => e.Path == "security.journalKey" && e.Line == 1 && e.Message.Contains("32 random bytes", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "entities.supply.sensitive" && e.Message.Contains("recipient.", StringComparison.Ordinal));
    }
}
