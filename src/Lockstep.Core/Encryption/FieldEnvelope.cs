using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Lockstep.Encryption;

/// <summary>
/// Field encryption before data leaves: each listed field of the mapped record is replaced by an envelope
/// <c>{"lockstep:enc":"v1","kid":KEY-ID,"alg":"A256GCM","iv":BASE64(12 bytes),"ct":BASE64(ciphertext),"tag":BASE64(16 bytes)}</c>.
/// The plaintext is the field's JSON text (so numbers and objects survive), and the field's path (e.g. <c>recipient.phone</c>)
/// is the additional authenticated data, so an envelope moved to another field does not decrypt.
/// </summary>
public static class FieldEnvelope
{
    public const string Marker = "lockstep:enc";

    // Readable output: "+" and non-ASCII stay as they are (still valid JSON; these bodies are never embedded in HTML).
    private static readonly System.Text.Json.JsonSerializerOptions Output = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Seals the listed fields of a JSON object in place; missing or null fields are left as they are.</summary>
    public static byte[] Seal(ReadOnlySpan<byte> json, EncryptOptions options)
    {
        var root = JsonNode.Parse(json) as JsonObject ?? throw new InvalidOperationException("the mapped record is not a JSON object");
        foreach (var path in options.Fields)
        {
            var (parent, name) = Locate(root, path);
            if (parent is null || !parent.TryGetPropertyValue(name, out var value) || value is null) continue;
            parent[name] = Encrypt(value.ToJsonString(), path, options.Key);
        }
        return Encoding.UTF8.GetBytes(root.ToJsonString(Output));
    }

    /// <summary>Replaces every envelope in the document with its plaintext, using whichever of the keys its id names.</summary>
    public static string Open(string json, IReadOnlyDictionary<string, byte[]> keys)
    {
        var root = JsonNode.Parse(json) ?? throw new InvalidOperationException("not JSON");
        return (Open(root, "", keys) ?? root).ToJsonString(Output);
    }

    /// <summary>Opens the envelopes found at the given paths only; other fields (even envelopes) stay as they are.</summary>
    public static string OpenAt(string json, IReadOnlyList<string> paths, IReadOnlyDictionary<string, byte[]> keys)
    {
        if (JsonNode.Parse(json) is not JsonObject root) return json;
        var opened = false;
        foreach (var path in paths)
        {
            var (parent, name) = Locate(root, path);
            if (parent?[name] is JsonObject envelope && envelope.ContainsKey(Marker))
            {
                parent[name] = Decrypt(envelope, path, keys);
                opened = true;
            }
        }
        return opened ? root.ToJsonString(Output) : json;
    }

    private static JsonNode? Open(JsonNode node, string path, IReadOnlyDictionary<string, byte[]> keys)
    {
        if (node is JsonObject obj)
        {
            if (obj.TryGetPropertyValue(Marker, out _)) return Decrypt(obj, path, keys);
            foreach (var name in obj.Select(p => p.Key).ToList())
            {
                if (obj[name] is { } child && Open(child, path.Length == 0 ? name : $"{path}.{name}", keys) is { } opened) obj[name] = opened;
            }
        }
        else if (node is JsonArray array)
        {
            for (var i = 0; i < array.Count; i++)
            {
                if (array[i] is { } child && Open(child, path, keys) is { } opened) array[i] = opened;
            }
        }
        return null;
    }

    private static JsonObject Encrypt(string plaintext, string path, FieldKey key)
    {
        var data = Encoding.UTF8.GetBytes(plaintext);
        var iv = RandomNumberGenerator.GetBytes(12);
        var ciphertext = new byte[data.Length];
        var tag = new byte[16];
        using var aes = new AesGcm(key.Key, 16);
        aes.Encrypt(iv, data, ciphertext, tag, Encoding.UTF8.GetBytes(path));
        return new JsonObject
        {
            [Marker] = "v1",
            ["kid"] = key.Id,
            ["alg"] = "A256GCM",
            ["iv"] = Convert.ToBase64String(iv),
            ["ct"] = Convert.ToBase64String(ciphertext),
            ["tag"] = Convert.ToBase64String(tag),
        };
    }

    private static JsonNode? Decrypt(JsonObject envelope, string path, IReadOnlyDictionary<string, byte[]> keys)
    {
        var kid = envelope["kid"]?.GetValue<string>() ?? throw new CryptographicException($"{path}: the envelope has no kid");
        if (!keys.TryGetValue(kid, out var key)) throw new CryptographicException($"{path}: no key with id '{kid}'");
        var iv = Convert.FromBase64String(envelope["iv"]!.GetValue<string>());
        var ciphertext = Convert.FromBase64String(envelope["ct"]!.GetValue<string>());
        var tag = Convert.FromBase64String(envelope["tag"]!.GetValue<string>());
        var plaintext = new byte[ciphertext.Length];
        using var aes = new AesGcm(key, 16);
        aes.Decrypt(iv, ciphertext, tag, plaintext, Encoding.UTF8.GetBytes(path));
        return JsonNode.Parse(plaintext);
    }

    private static (JsonObject? Parent, string Name) Locate(JsonObject root, string path)
    {
        var parts = path.Split('.');
        JsonObject? current = root;
        for (var i = 0; i < parts.Length - 1 && current is not null; i++) current = current[parts[i]] as JsonObject;
        return (current, parts[^1]);
    }
}
