using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lockstep.Conflicts;

/// <summary>
/// Record content compared as data, not as text: a hash that ignores property order (what Lockstep wrote to a system
/// versus what that system reports back), and whether one record holds every field of another.
/// </summary>
public static class RecordJson
{
    /// <summary>SHA-256 (hex, 32 chars) of the JSON with object properties sorted, so field order never matters.</summary>
    public static string Hash(ReadOnlySpan<byte> json)
    {
        var node = JsonNode.Parse(json);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(json.Length + 16);
        using (var writer = new Utf8JsonWriter(buffer)) WriteSorted(writer, node);
        return Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan))[..32];
    }

    public static string Hash(string json) => Hash(Encoding.UTF8.GetBytes(json));

    /// <summary>The hash written for a delete: deletes of one record are all alike.</summary>
    public const string DeleteHash = "delete";

    /// <summary>True when every field of <paramref name="part"/> has the same value in <paramref name="whole"/>.</summary>
    public static bool Covers(string whole, string part)
    {
        try
        {
            return JsonNode.Parse(whole) is JsonObject w && JsonNode.Parse(part) is JsonObject p
                && p.All(f => w.TryGetPropertyValue(f.Key, out var value) && JsonNode.DeepEquals(value, f.Value));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static void WriteSorted(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonObject o:
                writer.WriteStartObject();
                foreach (var (name, value) in o.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(name);
                    WriteSorted(writer, value);
                }
                writer.WriteEndObject();
                break;
            case JsonArray a:
                writer.WriteStartArray();
                foreach (var item in a) WriteSorted(writer, item);
                writer.WriteEndArray();
                break;
            default:
                node.WriteTo(writer);
                break;
        }
    }
}
