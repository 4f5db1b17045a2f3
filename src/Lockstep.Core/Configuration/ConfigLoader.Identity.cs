using System.Security.Cryptography;

namespace Lockstep.Configuration;

/// <summary><c>security.jwt</c> and <c>security.oidc</c>: the identity provider's tokens and sign-in.</summary>
public sealed partial class ConfigLoader
{
    internal static ApiRole? ParseRole(string? text) => ApiRoles.Parse(text);

    private static JwtOptions? ReadJwt(ConfigSection? security)
    {
        if (security?.Section("jwt") is not { } jwt) return null;
        jwt.CheckKeys(["authority", "audience", "issuer", "signingKeys", "roleClaim", "roles"]);
        var authority = Authority(jwt);
        var audience = jwt.String("audience", required: true);
        var issuer = jwt.String("issuer");
        var files = new List<string>();
        foreach (var file in jwt.StringList("signingKeys"))
        {
            var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(jwt.Context.File)) ?? ".", file));
            if (!System.IO.File.Exists(full)) jwt.Error("signingKeys", $"the key file '{file}' does not exist");
            else if (KeyFileProblem(full) is { } problem) jwt.Error("signingKeys", $"the key file '{file}' {problem}");
            else files.Add(full);
        }
        if (jwt.Has("authority") && (jwt.Has("issuer") || jwt.Has("signingKeys")))
            jwt.Error("authority", "give either authority (keys from its discovery document) or issuer and signingKeys (offline), not both");
        else if (!jwt.Has("authority") && (!jwt.Has("issuer") || !jwt.Has("signingKeys")))
            jwt.Error("authority", "is required (or, offline, issuer and signingKeys)");
        var roles = Roles(jwt, [ApiRole.Publisher, ApiRole.Viewer, ApiRole.Operator]);
        return audience is null || (authority is null && (issuer is null || files.Count == 0)) ? null : new JwtOptions(authority, audience, issuer, files, roles);
    }

    private static OidcOptions? ReadOidc(ConfigSection? security)
    {
        if (security?.Section("oidc") is not { } oidc) return null;
        oidc.CheckKeys(["authority", "clientId", "clientSecret", "roleClaim", "roles"]);
        var authority = Authority(oidc);
        if (!oidc.Has("authority")) oidc.Error("authority", "is required");
        var clientId = oidc.String("clientId", required: true);
        var secret = oidc.SecretValue("clientSecret");
        // The dashboard reads (viewer) and acts (operator); a publisher has nothing to do there.
        var roles = Roles(oidc, [ApiRole.Viewer, ApiRole.Operator]);
        return authority is null || clientId is null ? null : new OidcOptions(authority, clientId, secret, roles);
    }

    /// <summary>Why a signing key file cannot be used (null when it can): a JWKS with keys, or a PEM public key or certificate.</summary>
    private static string? KeyFileProblem(string path)
    {
        try
        {
            var text = System.IO.File.ReadAllText(path);
            if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                using var document = System.Text.Json.JsonDocument.Parse(text);
                return document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && document.RootElement.TryGetProperty("keys", out var keys)
                    && keys.ValueKind == System.Text.Json.JsonValueKind.Array && keys.GetArrayLength() > 0 ? null : "is not a JWKS (expected {\"keys\": [...]})";
            }
            if (text.Contains("PRIVATE KEY", StringComparison.Ordinal)) return "holds a private key; give the public key or certificate only";
            if (text.Contains("BEGIN CERTIFICATE", StringComparison.Ordinal))
            {
                using var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(text);
                return null;
            }
            try
            {
                using var rsa = RSA.Create();
                rsa.ImportFromPem(text);
                return null;
            }
            catch (ArgumentException)
            {
                using var ec = ECDsa.Create();
                ec.ImportFromPem(text);
                return null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or ArgumentException or CryptographicException)
        {
            return "is not a PEM public key, certificate or JWKS .json file";
        }
    }

    /// <summary>https, or http only on this machine (a test or a local provider): tokens and keys never cross a network unencrypted.</summary>
    private static Uri? Authority(ConfigSection section)
    {
        if (section.HttpUrl("authority") is not { } url) return null;
        if (url.Scheme == "http" && !url.IsLoopback)
        {
            section.Error("authority", "must be an https:// URL (http:// only for localhost or 127.0.0.1)");
            return null;
        }
        return url;
    }

    private static RoleMapping Roles(ConfigSection section, ApiRole[] allowed)
    {
        var claim = section.String("roleClaim") ?? "roles";
        var map = new Dictionary<string, ApiRole>(StringComparer.Ordinal);
        if (section.Section("roles") is { } roles)
        {
            var names = string.Join(", ", allowed.Select(r => r.ToString().ToLowerInvariant()));
            foreach (var value in roles.Keys)
            {
                var text = roles.String(value);
                if (ParseRole(text) is not { } role || !allowed.Contains(role))
                    roles.Error(value, $"'{text}' is not a role here (expected {names})");
                else map[value] = role;
            }
        }
        return new RoleMapping(claim, map);
    }
}
