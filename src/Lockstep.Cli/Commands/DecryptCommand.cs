using System.CommandLine;
using System.Security.Cryptography;
using Lockstep.Encryption;

namespace Lockstep.Cli.Commands;

/// <summary>
/// <c>lockstep decrypt [FILE] --key ID=ENV_VAR ...</c>: what a receiver runs (or reimplements) to open field envelopes.
/// Keys are read from environment variables, never from the command line; give every key id still in use (rotation).
/// </summary>
internal static class DecryptCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "A JSON document holding envelopes (- or nothing for stdin)", DefaultValueFactory = _ => "-" };
        var keys = new Option<string[]>("--key") { Description = "KEY_ID=ENV_VAR: the base64 key of that id is in that environment variable (repeatable)", Required = true, AllowMultipleArgumentsPerToken = true };
        var command = new Command("decrypt", "Open the encrypted fields (lockstep:enc envelopes) of a JSON document") { file, keys };
        command.SetAction(async (result, cancellationToken) =>
        {
            var table = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var spec in result.GetValue(keys) ?? [])
            {
                var parts = spec.Split('=', 2);
                var value = parts.Length == 2 ? Environment.GetEnvironmentVariable(parts[1]) : null;
                var bytes = new byte[64];
                if (value is null || !Convert.TryFromBase64String(value, bytes, out var length) || length != 32)
                {
                    Console.Error.WriteLine($"error: --key {spec}: expected KEY_ID=ENV_VAR with a 32-byte base64 key in ${(parts.Length == 2 ? parts[1] : "?")}");
                    return 1;
                }
                table[parts[0]] = bytes[..32];
            }
            var path = result.GetValue(file)!;
            var text = path == "-" ? await Console.In.ReadToEndAsync(cancellationToken) : await File.ReadAllTextAsync(path, cancellationToken);
            try
            {
                Console.WriteLine(FieldEnvelope.Open(text, table));
                return 0;
            }
            catch (Exception e) when (e is CryptographicException or System.Text.Json.JsonException or InvalidOperationException or FormatException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
