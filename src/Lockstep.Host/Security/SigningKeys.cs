using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.Tokens;

namespace Lockstep.Host.Security;

/// <summary>
/// The offline <c>security.jwt.signingKeys</c>: PEM public keys (RSA or EC) or certificates, or JWKS files (.json).
/// The config loader has already checked that each file reads; only public keys are ever needed here.
/// </summary>
internal static class SigningKeys
{
    public static List<SecurityKey> Load(IEnumerable<string> files)
    {
        var keys = new List<SecurityKey>();
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            if (file.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            {
                keys.AddRange(new JsonWebKeySet(text).GetSigningKeys());
                continue;
            }
            if (text.Contains("BEGIN CERTIFICATE", StringComparison.Ordinal))
            {
                keys.Add(new X509SecurityKey(X509Certificate2.CreateFromPem(text)));
                continue;
            }
            try
            {
                var rsa = RSA.Create();
                rsa.ImportFromPem(text);
                keys.Add(new RsaSecurityKey(rsa));
            }
            catch (ArgumentException)
            {
                var ec = ECDsa.Create();
                ec.ImportFromPem(text);
                keys.Add(new ECDsaSecurityKey(ec));
            }
        }
        return keys;
    }
}
