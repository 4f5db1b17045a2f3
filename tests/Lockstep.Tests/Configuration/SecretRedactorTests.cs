using Lockstep.Configuration;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Configuration;

public sealed class SecretRedactorTests
{
    private const string Token = "tok-3f9a8c1d2e7b6a5f";

    private static SecretRedactor Credential(string value)
    {
        var redactor = new SecretRedactor();
        redactor.Add(value, always: true);
        return redactor;
    }

    [Theory]
    [InlineData("401: token tok-3f9a8c1d2e7b6a5f rejected", "401: token *** rejected")]
    [InlineData("401: token TOK-3F9A8C1D2E7B6A5F rejected", "401: token *** rejected")]
    [InlineData("401: token tok-3f9a8c1d... rejected", "401: token ***... rejected")]
    [InlineData("bad suffix 1d2e7b6a5f", "bad suffix ***")]
    [InlineData("slice=[9A8C1D2E7B]", "slice=[***]")]
    [InlineData("two: tok-3f9a8c and 2e7b6a5f", "two: *** and ***")]
    public void A_credential_is_redacted_whole_in_any_case_and_in_parts_of_eight_or_more(string text, string expected)
    {
        Assert.Equal(expected, Credential(Token).Redact(text));
    }

    [Fact]
    public void A_twelve_character_prefix_and_an_upper_cased_form_echoed_by_a_target_are_redacted()
    {
        var text = $"HTTP 401: unknown key {Token[..12]}…, expected header AUTHORIZATION: BEARER {Token.ToUpperInvariant()}";

        var redacted = Credential(Token).Redact(text)!;

        Assert.Equal("HTTP 401: unknown key ***…, expected header AUTHORIZATION: BEARER ***", redacted);
    }

    [Fact]
    public void Parts_shorter_than_the_fragment_length_and_ordinary_text_are_kept()
    {
        var redactor = Credential(Token);

        Assert.Equal("tok-3f9 is too short to be told from text", redactor.Redact("tok-3f9 is too short to be told from text"));
        Assert.Equal("HTTP 503 Service Unavailable", redactor.Redact("HTTP 503 Service Unavailable"));
    }

    [Fact]
    public void A_composite_value_is_matched_whole_and_its_password_in_parts()
    {
        var redactor = new SecretRedactor();
        redactor.Add("amqp://lockstep-user:Pw7xQ2mZr9Kd@broker.internal:5672", always: true);
        redactor.Add("Pw7xQ2mZr9Kd", always: true);

        Assert.Equal("cannot reach broker.internal:5672 as lockstep-user", redactor.Redact("cannot reach broker.internal:5672 as lockstep-user"));
        Assert.Equal("failed: ***", redactor.Redact("failed: amqp://lockstep-user:Pw7xQ2mZr9Kd@broker.internal:5672"));
        Assert.Equal("password ***… refused", redactor.Redact("password Pw7xQ2mZr9… refused"));
    }

    [Fact]
    public void An_environment_value_is_redacted_in_any_case_and_in_parts_when_its_name_says_credential()
    {
        var env = new Dictionary<string, string> { ["REGISTRY_TOKEN"] = Token, ["REGISTRY_REGION"] = "westeurope-2" };
        var yaml = ConfigLoaderTests.Acceptance.Replace("concurrency: 16", "concurrency: 16\n    headers: { X-Region: \"${REGISTRY_REGION}\" }");

        var secrets = TestEngine.Load(yaml, "/tmp", env).Secrets;

        Assert.Equal("echo *** and ***", secrets.Redact($"echo {Token[..10]} and {Token.ToUpperInvariant()}"));
        Assert.Equal("region *** (westeurope)", secrets.Redact("region WESTEUROPE-2 (westeurope)"));
    }

    [Fact]
    public void A_url_escaped_credential_is_redacted_in_parts_too()
    {
        var redactor = Credential("p@ss/w0rd+Zq8Lm3");

        Assert.Equal("query ?key=***&p=***", redactor.Redact("query ?key=p%40ss%2Fw0r&p=P@SS/W0RD"));
    }
}
