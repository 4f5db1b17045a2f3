using System.Security.Cryptography;
using Lockstep.Configuration;
using Lockstep.Encryption;

namespace Lockstep.Storage.Sqlite;

/// <summary>
/// The key for <c>entities.NAME.sensitive</c> when <c>security.journalKey</c> is not set: 32 random bytes in a file next
/// to the journal (<c>lockstep.db.key</c>, mode 0600), created on first start. Back it up with the journal, but apart from
/// it: the database alone does not reveal the sensitive fields.
/// </summary>
public static class JournalKeyFile
{
    /// <summary>The sensitive-field protection for a config, or null when no entity has sensitive fields.</summary>
    public static SensitiveFields? For(LockstepConfig config, string journalPath)
    {
        if (config.Sensitive.Count == 0) return null;
        if (config.JournalKeys.Count > 0) return new SensitiveFields(config.Sensitive, config.JournalKeys[0], config.JournalKeys.Skip(1));
        return new SensitiveFields(config.Sensitive, LoadOrCreate(journalPath + ".key"), []);
    }

    public static FieldKey LoadOrCreate(string path)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder) Directory.CreateDirectory(folder);
        if (!File.Exists(path))
        {
            var fresh = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            try
            {
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using var stream = new FileStream(path, options);
                using var writer = new StreamWriter(stream);
                writer.WriteLine(fresh);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process created it first: use theirs.
            }
        }
        var text = File.ReadAllText(path).Trim();
        var buffer = new byte[64];
        if (!Convert.TryFromBase64String(text, buffer, out var length) || length != 32)
            throw new InvalidOperationException($"{path} does not hold a journal key (32 bytes in base64)");
        var key = buffer[..32];
        return new FieldKey(SensitiveFields.KeyId(key), key);
    }
}
