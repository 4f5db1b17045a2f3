using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Lockstep.Configuration;

namespace Lockstep.Connectors.Http;

/// <summary>
/// Reads <c>tls: { clientCertificate, clientKey, clientKeyPassword, ca }</c> (PEM files, relative to the config file; the
/// password of an encrypted PKCS#8 key, a secret) and loads them at startup, so a missing or unreadable file or a wrong
/// password is an error naming its key rather than a failure on the first request.
/// </summary>
internal static class HttpTlsReader
{
    public static HttpTlsOptions? Read(ConfigSection? tls)
    {
        if (tls is null) return null;
        tls.CheckKeys(["clientCertificate", "clientKey", "clientKeyPassword", "ca"]);
        var certPath = FilePath(tls, "clientCertificate");
        var keyPath = FilePath(tls, "clientKey");
        var password = tls.SecretValue("clientKeyPassword");
        var caPath = FilePath(tls, "ca");
        if (keyPath is not null && certPath is null) tls.Error("clientKey", "needs clientCertificate");
        if (password is not null && certPath is null) tls.Error("clientKeyPassword", "needs clientCertificate");
        X509Certificate2? certificate = null;
        if (certPath is not null)
        {
            try
            {
                // Without clientKey the key is read from the certificate's own PEM file.
                certificate = password is null
                    ? X509Certificate2.CreateFromPemFile(certPath, keyPath)
                    : X509Certificate2.CreateFromEncryptedPemFile(certPath, password.Reveal(), keyPath);
                if (!certificate.HasPrivateKey) tls.Error("clientKey", "is required: the certificate file holds no private key");
            }
            catch (Exception e) when (e is CryptographicException or IOException or ArgumentException or UnauthorizedAccessException)
            {
                // The message never holds the password (it is a secret of the redactor's too).
                tls.Error(password is not null ? "clientKeyPassword" : keyPath is null ? "clientCertificate" : "clientKey",
                    $"cannot load the client certificate and key (PEM{(password is null ? "" : ", encrypted")}): {tls.Context.Secrets.Redact(e.Message)}");
            }
        }
        X509Certificate2Collection? ca = null;
        if (caPath is not null)
        {
            try
            {
                ca = [];
                ca.ImportFromPemFile(caPath);
                if (ca.Count == 0) tls.Error("ca", "holds no PEM certificate");
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                tls.Error("ca", $"cannot load the CA certificates (PEM): {e.Message}");
            }
        }
        return new HttpTlsOptions(certificate, ca);
    }

    private static string? FilePath(ConfigSection section, string key)
    {
        var path = section.String(key);
        if (path is null) return null;
        var full = Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(section.Context.File)) ?? ".", path));
        if (File.Exists(full)) return full;
        section.Error(key, $"file not found: {path}");
        return null;
    }
}
