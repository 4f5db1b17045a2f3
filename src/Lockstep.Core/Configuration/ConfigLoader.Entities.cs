using Lockstep.Encryption;

namespace Lockstep.Configuration;

public sealed partial class ConfigLoader
{
    /// <summary><c>entities:</c> (per entity: <c>sensitive</c> paths) and the journal's keys from <c>security</c>.</summary>
    private static (Dictionary<string, IReadOnlyList<string>> Sensitive, List<FieldKey> Keys) ReadEntities(ConfigSection? entities, ConfigSection? security)
    {
        var sensitive = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (entities is not null)
        {
            foreach (var (name, entity) in entities.Entries())
            {
                entity.CheckKeys(["sensitive"]);
                var paths = entity.StringList("sensitive");
                foreach (var path in paths.Where(p => p.Split('.').Any(part => part.Length == 0)))
                    entity.Error("sensitive", $"'{path}' is not a field path (write e.g. recipient.phone)");
                if (paths.Count > 0) sensitive[name] = paths;
            }
        }
        var keys = new List<FieldKey>();
        if (security is not null)
        {
            var journalKey = security.SecretValue("journalKey");
            if (JournalKey(security, journalKey, "journalKey") is { } current) keys.Add(current);
            foreach (var value in security.StringList("previousJournalKeys"))
            {
                security.Context.Secrets.Add(value, always: true);
                if (JournalKey(security, new Secret(value), "previousJournalKeys") is { } old) keys.Add(old);
            }
            if (keys.Count > 0 && journalKey is null)
                security.Error("previousJournalKeys", "needs 'journalKey' (the current key) as well");
        }
        return (sensitive, keys);
    }

    private static FieldKey? JournalKey(ConfigSection security, Secret? secret, string key)
    {
        if (secret is null) return null;
        var buffer = new byte[64];
        if (!Convert.TryFromBase64String(secret.Reveal(), buffer, out var length) || length != 32)
        {
            security.Error(key, "must be 32 random bytes in base64 (e.g. openssl rand -base64 32)");
            return null;
        }
        var bytes = buffer[..32];
        return new FieldKey(SensitiveFields.KeyId(bytes), bytes);
    }
}
