using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Connectors.Http;
using Lockstep.Deliveries;
using Lockstep.Host;
using Lockstep.Records;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lockstep.Tests.Connectors;

/// <summary>
/// <c>tls:</c> against a real Kestrel HTTPS server that requires a client certificate from the test's own CA, with
/// every certificate made by the test (CertificateRequest) and written as PEM files.
/// </summary>
public sealed class HttpTlsTests : IAsyncLifetime
{
    private readonly TempFolder _folder = new();
    private readonly List<string> _clients = [];
    private X509Certificate2 _ca = null!;
    private WebApplication _server = null!;
    private string _url = "";

    public async Task InitializeAsync()
    {
        _ca = Authority("CN=Lockstep Test CA");
        using var serverCert = Issue(_ca, "CN=127.0.0.1", server: true);
        using var clientCert = Issue(_ca, "CN=lockstep-client", server: false);
        using var strangerCa = Authority("CN=Stranger CA");
        using var strangerCert = Issue(strangerCa, "CN=stranger", server: false);
        await File.WriteAllTextAsync(Path.Combine(_folder.Path, "ca.pem"), _ca.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_folder.Path, "client.pem"), clientCert.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_folder.Path, "client.key"), clientCert.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(_folder.Path, "client-encrypted.key"), clientCert.GetRSAPrivateKey()!.ExportEncryptedPkcs8PrivateKeyPem(
            KeyPassword, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 10_000)));
        await File.WriteAllTextAsync(Path.Combine(_folder.Path, "stranger.pem"), strangerCert.ExportCertificatePem() + "\n" + strangerCert.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());

        var server = X509CertificateLoader.LoadPkcs12(serverCert.Export(X509ContentType.Pkcs12), null);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(https =>
        {
            https.ServerCertificate = server;
            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            https.ClientCertificateValidation = (certificate, _, _) => ChainsTo(_ca, certificate);
        })));
        _server = builder.Build();
        _server.MapPut("/api/records/{key}", (HttpContext context) =>
        {
            lock (_clients) _clients.Add(context.Connection.ClientCertificate?.Subject ?? "(none)");
            return Results.NoContent();
        });
        await _server.StartAsync();
        _url = _server.ListeningUrl();
    }

    public async Task DisposeAsync()
    {
        await _server.StopAsync();
        await _server.DisposeAsync();
        _ca.Dispose();
        _folder.Dispose();
    }

    private const string KeyPassword = "tls-key-password-7c1e";

    private LockstepConfig Load(string tls, string password = KeyPassword) => TestEngine.Load($$"""
        storage: sqlite:lockstep.db
        systems:
          registry:
            type: http
            url: {{_url}}
            tls: {{tls}}
        flows:
          permits:
            on: [permitApproved]
            to: registry
            upsert: PUT /api/records/{key}
        """, _folder.Path, new Dictionary<string, string> { ["KEY_PASSWORD"] = password });

    private static async Task<ConnectorResult> PutAsync(LockstepConfig config)
    {
        await using var connector = new HttpConnectorFactory().Create(config.Systems["registry"], new ConnectorContext(TimeProvider.System, NullLoggerFactory.Instance, config.Secrets));
        var delivery = new Delivery(1, "permits", "registry", "permit", "P-1", 1, RecordOp.Upsert, "e1", "permitApproved", "{}", 1);
        return await connector.ApplyAsync(delivery, config.Flows[0], "{}"u8.ToArray(), CancellationToken.None);
    }

    [Fact]
    public async Task Client_certificate_is_presented_and_the_server_is_trusted_through_the_configured_ca()
    {
        var result = await PutAsync(Load("{ clientCertificate: client.pem, clientKey: client.key, ca: ca.pem }"));

        Assert.Equal(ResultKind.Success, result.Kind);
        Assert.Equal(["CN=lockstep-client"], _clients);
    }

    [Fact]
    public async Task An_encrypted_client_key_is_opened_with_its_password()
    {
        var result = await PutAsync(Load("""{ clientCertificate: client.pem, clientKey: client-encrypted.key, clientKeyPassword: "${KEY_PASSWORD}", ca: ca.pem }"""));

        Assert.Equal(ResultKind.Success, result.Kind);
        Assert.Equal(["CN=lockstep-client"], _clients);
    }

    [Fact]
    public void A_wrong_key_password_is_an_error_naming_the_key_without_the_password()
    {
        var errors = Assert.Throws<ConfigException>(() => Load("""{ clientCertificate: client.pem, clientKey: client-encrypted.key, clientKeyPassword: "${KEY_PASSWORD}" }""", "wrong-password-93ab")).Errors;

        var error = Assert.Single(errors);
        Assert.Equal("systems.registry.tls.clientKeyPassword", error.Path);
        Assert.Contains("cannot load the client certificate and key (PEM, encrypted)", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password-93ab", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_ca_the_server_certificate_is_not_trusted()
    {
        var result = await PutAsync(Load("{ clientCertificate: client.pem, clientKey: client.key }"));

        Assert.Equal(ResultKind.Transient, result.Kind);
        Assert.Contains("network error", result.Error, StringComparison.Ordinal);
        Assert.Empty(_clients);
    }

    [Fact]
    public async Task An_untrusted_server_certificate_error_says_why_from_the_inner_exception()
    {
        var result = await PutAsync(Load("{ clientCertificate: client.pem, clientKey: client.key }"));

        Assert.StartsWith("network error: The SSL connection could not be established: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("certificate", result.Error!["network error: The SSL connection could not be established: ".Length..], StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("see inner exception", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_from_another_ca_is_refused_by_the_server()
    {
        var result = await PutAsync(Load("{ clientCertificate: stranger.pem, ca: ca.pem }"));

        Assert.NotEqual(ResultKind.Success, result.Kind);
        Assert.Empty(_clients);
    }

    [Fact]
    public void Missing_or_unreadable_files_are_errors_naming_the_key()
    {
        File.WriteAllText(Path.Combine(_folder.Path, "broken.pem"), "not a certificate");

        var errors = Assert.Throws<ConfigException>(() => Load("{ clientCertificate: broken.pem, clientKey: client.key, ca: missing.pem }")).Errors;

        Assert.Contains(errors, e => e.Path == "systems.registry.tls.ca" && e.Message.Contains("file not found", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "systems.registry.tls.clientKey" && e.Message.Contains("cannot load", StringComparison.Ordinal));
    }

    private static X509Certificate2 Authority(string subject)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string subject, bool server)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            names.AddDnsName("localhost");
            request.CertificateExtensions.Add(names.Build());
        }
        var now = DateTimeOffset.UtcNow;
        using var issued = request.Create(ca, now.AddDays(-1), now.AddDays(29), RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }

    private static bool ChainsTo(X509Certificate2 ca, X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
