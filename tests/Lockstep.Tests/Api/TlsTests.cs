using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Lockstep.Configuration;
using Lockstep.Host;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Api;

public sealed class TlsTests
{
    [Fact]
    public async Task The_listener_serves_https_with_a_pem_certificate_from_the_config()
    {
        using var folder = new TempFolder();
        using var certificate = SelfSigned();
        await File.WriteAllTextAsync(Path.Combine(folder.Path, "cert.pem"), certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(folder.Path, "key.pem"), certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        var config = TestEngine.Load(Yaml("{ certificate: cert.pem, key: key.pem }"), folder.Path);

        var (status, served) = await GetHealthAsync(config);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(certificate.Thumbprint, served);
    }

    [Fact]
    public async Task The_listener_serves_https_with_a_pfx_and_a_password_from_the_environment()
    {
        using var folder = new TempFolder();
        using var certificate = SelfSigned();
        const string password = "pfx-pass-Vb31Qm";
        await File.WriteAllBytesAsync(Path.Combine(folder.Path, "listener.pfx"), certificate.Export(X509ContentType.Pkcs12, password));
        var config = TestEngine.Load(Yaml("{ certificate: listener.pfx, password: \"${PFX_PASSWORD}\" }"), folder.Path, new Dictionary<string, string> { ["PFX_PASSWORD"] = password });

        var (status, served) = await GetHealthAsync(config);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(certificate.Thumbprint, served);
    }

    [Fact]
    public void A_missing_certificate_file_is_an_error_naming_the_key()
    {
        using var folder = new TempFolder();

        File.WriteAllText(Path.Combine(folder.Path, "cert.pem"), "");

        var missing = Assert.Throws<ConfigException>(() => TestEngine.Load(Yaml("{ certificate: nowhere.pem }"), folder.Path));
        var keyless = Assert.Throws<ConfigException>(() => TestEngine.Load(Yaml("{ certificate: cert.pem }"), folder.Path));

        Assert.Contains("lockstep.yaml:3: server.tls.certificate: file", missing.Message);
        Assert.Contains("lockstep.yaml:3: server.tls.key: is required with a PEM certificate", keyless.Message);
    }

    private static string Yaml(string tls) => $$"""
        storage: sqlite:lockstep.db
        server:
          tls: {{tls}}
        systems:
          logistics: { type: http, url: "http://127.0.0.1:9" }
        flows:
          aid-to-logistics: { entity: supply, to: logistics, upsert: "PUT /shipments/{key}" }
        """;

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        var now = DateTimeOffset.UnixEpoch.AddYears(56);
        return request.CreateSelfSigned(now.AddYears(-1), now.AddYears(10));
    }

    /// <summary>GET /health/live over HTTPS, trusting exactly the certificate the server presents, whose thumbprint is returned.</summary>
    private static async Task<(HttpStatusCode Status, string? Thumbprint)> GetHealthAsync(LockstepConfig config)
    {
        await using var app = LockstepHost.Build(config, "https://127.0.0.1:0");
        await app.StartAsync();
        string? served = null;
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                served = cert?.Thumbprint;
                return true;
            },
        };
        using var http = new HttpClient(handler) { Timeout = Eventually.Limit };
        var url = app.ListeningUrl();
        using var response = await http.GetAsync($"{url}/health/live");
        await app.StopAsync();
        Assert.StartsWith("https://", url);
        return (response.StatusCode, served);
    }
}
