using System.Security.Cryptography;

namespace Lockstep.Encryption;

/// <summary>
/// <c>entities.NAME.sensitive</c>: fields of a record's data that the journal stores only as envelopes (AES-256-GCM, the
/// same format as flow encryption, the field's path as additional data). Events are sealed on their way into the journal
/// and opened when a delivery or a reconciliation reads them back, so the database file never holds their plaintext.
/// </summary>
public sealed class SensitiveFields
{
    private readonly IReadOnlyDictionary<string, IReadOnlyList<string>> _paths;
    private readonly Dictionary<string, EncryptOptions> _seal;
    private readonly Dictionary<string, byte[]> _keys;

    /// <param name="paths">Per entity, the dotted paths into its data.</param>
    /// <param name="current">The key new events are sealed with.</param>
    /// <param name="previous">Keys of earlier rotations, still accepted for reading.</param>
    public SensitiveFields(IReadOnlyDictionary<string, IReadOnlyList<string>> paths, FieldKey current, IEnumerable<FieldKey> previous)
    {
        _paths = paths;
        _seal = paths.ToDictionary(p => p.Key, p => new EncryptOptions(p.Value, current), StringComparer.Ordinal);
        _keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var key in previous.Append(current)) _keys[key.Id] = key.Key;
    }

    /// <summary>A key id that names the key without revealing it (rotation shows as a new id).</summary>
    public static string KeyId(ReadOnlySpan<byte> key) => "journal-" + Convert.ToHexStringLower(SHA256.HashData(key))[..8];

    public bool Covers(string entity) => _paths.ContainsKey(entity);

    /// <summary>The data as the journal stores it: the entity's sensitive fields sealed; anything else as it came.</summary>
    public string? Protect(string entity, string? json)
    {
        if (json is null || !_seal.TryGetValue(entity, out var options)) return json;
        try
        {
            return System.Text.Encoding.UTF8.GetString(FieldEnvelope.Seal(System.Text.Encoding.UTF8.GetBytes(json), options));
        }
        catch (Exception e) when (e is InvalidOperationException or System.Text.Json.JsonException)
        {
            return json; // not a JSON object: it has no fields to seal
        }
    }

    /// <summary>The data as it was published: the sealed fields opened (only at the entity's sensitive paths).</summary>
    public string? Unprotect(string entity, string? json) =>
        json is null || !_paths.TryGetValue(entity, out var paths) ? json : FieldEnvelope.OpenAt(json, paths, _keys);
}
