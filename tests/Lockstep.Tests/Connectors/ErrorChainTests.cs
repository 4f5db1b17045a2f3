using System.Security.Authentication;
using Lockstep.Configuration;
using Lockstep.Connectors;

namespace Lockstep.Tests.Connectors;

public sealed class ErrorChainTests
{
    [Fact]
    public void The_inner_cause_follows_the_outer_message_without_see_inner_exception()
    {
        var error = new HttpRequestException("The SSL connection could not be established, see inner exception.",
            new AuthenticationException("The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot"));

        Assert.Equal("The SSL connection could not be established: The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot", ErrorChain.Of(error));
    }

    [Fact]
    public void A_message_repeated_by_its_outer_exception_is_said_once()
    {
        var error = new IOException("Failed to connect: Connection refused", new System.Net.Sockets.SocketException(111, "Connection refused"));

        Assert.Equal("Failed to connect: Connection refused", ErrorChain.Of(error));
    }

    [Fact]
    public void A_secret_in_an_inner_message_is_redacted_like_any_other_error_text()
    {
        var secrets = new SecretRedactor();
        secrets.Add("s3cr3t-token-7781", credential: true);
        var error = new HttpRequestException("An error occurred while sending the request.", new IOException("proxy refused Bearer s3cr3t-token-7781"));

        var text = secrets.Redact($"network error: {ErrorChain.Of(error)}")!;

        Assert.StartsWith("network error: An error occurred while sending the request: proxy refused Bearer ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", text, StringComparison.Ordinal);
    }
}
