using System.Security.Cryptography.X509Certificates;
using Lockstep.Configuration;

namespace Lockstep.Host.Security;

/// <summary>Loads the certificate of <c>server.tls</c>: a PEM pair, or a .pfx/.p12 with its (secret) password.</summary>
internal static class ListenerCertificate
{
    public static X509Certificate2 Load(ServerTls tls)
    {
        if (tls.KeyPath is { } key) return X509Certificate2.CreateFromPemFile(tls.CertificatePath, key);
        return X509CertificateLoader.LoadPkcs12FromFile(tls.CertificatePath, tls.Password?.Reveal());
    }
}
