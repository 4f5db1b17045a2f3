using System.Text;
using Lockstep.Configuration;
using Lockstep.Sources;

namespace Lockstep.Tests.Sources;

public sealed class WebhookCheckTests
{
    // The Standard Webhooks specification's published example.
    private const string SpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string SpecId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long SpecTimestamp = 1614265330;
    private const string SpecBody = "{\"test\": 2432232314}";
    private const string SpecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    private static readonly DateTimeOffset SpecNow = DateTimeOffset.FromUnixTimeSeconds(SpecTimestamp);

    private static WebhookVerification Standard(params string[] secrets) =>
        new([.. secrets.Select(s => new Secret(s))], null, [], TimeSpan.FromMinutes(5));

    private static Func<string, string?> Headers(string id, long timestamp, string signature) => name => name switch
    {
        "webhook-id" => id,
        "webhook-timestamp" => timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "webhook-signature" => signature,
        _ => null,
    };

    [Fact]
    public void Spec_test_vector_verifies_and_signs()
    {
        Assert.Null(WebhookCheck.Verify(Standard(SpecSecret), Headers(SpecId, SpecTimestamp, SpecSignature), Encoding.UTF8.GetBytes(SpecBody), SpecNow));
        Assert.Equal(SpecSignature, WebhookCheck.Sign(SpecSecret, SpecId, SpecTimestamp, Encoding.UTF8.GetBytes(SpecBody)));
    }

    [Fact]
    public void Tampered_body_or_id_fails()
    {
        Assert.NotNull(WebhookCheck.Verify(Standard(SpecSecret), Headers(SpecId, SpecTimestamp, SpecSignature), Encoding.UTF8.GetBytes("{\"test\": 2432232315}"), SpecNow));
        Assert.NotNull(WebhookCheck.Verify(Standard(SpecSecret), Headers("msg_other", SpecTimestamp, SpecSignature), Encoding.UTF8.GetBytes(SpecBody), SpecNow));
    }

    [Fact]
    public void Unknown_and_malformed_entries_are_skipped_and_any_secret_may_match()
    {
        var signatures = $"v2,abc v1,not-base64!! garbage {SpecSignature}";

        var result = WebhookCheck.Verify(Standard("whsec_" + Convert.ToBase64String(new byte[24]), SpecSecret), Headers(SpecId, SpecTimestamp, signatures), Encoding.UTF8.GetBytes(SpecBody), SpecNow);

        Assert.Null(result);
    }

    [Theory]
    [InlineData(-301)]
    [InlineData(301)]
    public void Timestamp_outside_five_minutes_either_way_fails(int offsetSeconds)
    {
        var result = WebhookCheck.Verify(Standard(SpecSecret), Headers(SpecId, SpecTimestamp, SpecSignature), Encoding.UTF8.GetBytes(SpecBody), SpecNow.AddSeconds(offsetSeconds));

        Assert.Equal("webhook-timestamp is outside the tolerance", result);
    }

    [Fact]
    public void Missing_headers_fail()
    {
        Assert.NotNull(WebhookCheck.Verify(Standard(SpecSecret), _ => null, Encoding.UTF8.GetBytes(SpecBody), SpecNow));
    }

    [Fact]
    public void A_verification_without_any_secret_rejects_a_forged_push()
    {
        var empty = new WebhookVerification([], null, [], TimeSpan.FromMinutes(5));
        var emptyHmacKey = new WebhookVerification([], "X-Signature", [new Secret("")], TimeSpan.FromMinutes(5));
        var body = Encoding.UTF8.GetBytes("{\"permitId\":\"P-1\",\"status\":\"forged\"}");
        var forgedHex = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Array.Empty<byte>(), body));

        Assert.False(empty.None);
        Assert.Equal("no webhook secret is configured", WebhookCheck.Verify(empty, _ => null, body, SpecNow));
        Assert.NotNull(WebhookCheck.Verify(empty, Headers("msg_forged", SpecTimestamp, "v1,AAAA"), body, SpecNow));
        Assert.NotNull(WebhookCheck.Verify(emptyHmacKey, n => n == "X-Signature" ? "sha256=" + forgedHex : null, body, SpecNow));
    }

    [Fact]
    public void Plain_hmac_header_verifies_with_sha256_prefix()
    {
        var body = Encoding.UTF8.GetBytes("{\"a\":1}");
        var hex = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes("s3cret"), body));
        var verification = new WebhookVerification([], "X-Signature", [new Secret("s3cret")], TimeSpan.FromMinutes(5));

        Assert.Null(WebhookCheck.Verify(verification, n => n == "X-Signature" ? "sha256=" + hex : null, body, SpecNow));
        Assert.NotNull(WebhookCheck.Verify(verification, n => n == "X-Signature" ? "sha256=00" + hex[2..] : null, body, SpecNow));
    }
}
