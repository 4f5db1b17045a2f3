namespace Lockstep.Configuration;

/// <summary>
/// <c>server.tls</c>: the listener's certificate, either a PEM certificate with its PEM key or a PKCS#12 (.pfx) file with
/// an optional password. Paths are resolved against the config file's folder and checked to exist at load.
/// </summary>
public sealed record ServerTls(string CertificatePath, string? KeyPath, Secret? Password);
