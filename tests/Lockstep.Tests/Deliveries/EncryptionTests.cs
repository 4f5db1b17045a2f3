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
}
