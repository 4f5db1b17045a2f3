using System.Security.Cryptography;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace Lockstep.Connectors.Http.Soap;

/// <summary>Envelope building (Body, WS-Security header) and fault reading for SOAP 1.1 and 1.2.</summary>
internal static class SoapMessages
{
    public static readonly XNamespace Ns11 = "http://schemas.xmlsoap.org/soap/envelope/";
    public static readonly XNamespace Ns12 = "http://www.w3.org/2003/05/soap-envelope";
    public static readonly XNamespace Wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
    public static readonly XNamespace Wsu = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
    private const string TokenProfile = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0";

    public static XNamespace Namespace(SoapVersion version) => version == SoapVersion.Soap11 ? Ns11 : Ns12;

    /// <summary>The whole envelope as UTF-8 bytes: the template's own, or one built around the Body content; WS-Security added to its Header.</summary>
    public static byte[] Envelope(XElement filled, bool isEnvelope, SoapVersion version, UsernameToken? token, DateTimeOffset now)
    {
        var ns = Namespace(version);
        var envelope = isEnvelope ? filled : new XElement(ns + "Envelope", new XAttribute(XNamespace.Xmlns + "soap", ns.NamespaceName), new XElement(ns + "Body", filled));
        if (token is not null)
        {
            var header = envelope.Element(ns + "Header");
            if (header is null)
            {
                header = new XElement(ns + "Header");
                envelope.AddFirst(header);
            }
            header.Add(Security(token, ns, version, now));
        }
        using var buffer = new MemoryStream();
        using (var writer = XmlWriter.Create(buffer, new XmlWriterSettings { Encoding = new UTF8Encoding(false), OmitXmlDeclaration = false }))
            new XDocument(envelope).Save(writer);
        return buffer.ToArray();
    }

    private static XElement Security(UsernameToken token, XNamespace ns, SoapVersion version, DateTimeOffset now)
    {
        var password = token.Password.Reveal();
        var usernameToken = new XElement(Wsse + "UsernameToken", new XElement(Wsse + "Username", token.Username));
        if (token.Digest)
        {
            // Password_Digest = Base64(SHA-1(nonce + created + password)), as the UsernameToken profile defines it.
            var nonce = RandomNumberGenerator.GetBytes(16);
            var created = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
#pragma warning disable CA5350 // SHA-1 is what the WS-Security UsernameToken profile prescribes for PasswordDigest.
            var digest = SHA1.HashData([.. nonce, .. Encoding.UTF8.GetBytes(created + password)]);
#pragma warning restore CA5350
            usernameToken.Add(
                new XElement(Wsse + "Password", new XAttribute("Type", TokenProfile + "#PasswordDigest"), Convert.ToBase64String(digest)),
                new XElement(Wsse + "Nonce", new XAttribute("EncodingType", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"), Convert.ToBase64String(nonce)),
                new XElement(Wsu + "Created", created));
        }
        else usernameToken.Add(new XElement(Wsse + "Password", new XAttribute("Type", TokenProfile + "#PasswordText"), password));
        return new XElement(Wsse + "Security",
            new XAttribute(XNamespace.Xmlns + "wsse", Wsse.NamespaceName), new XAttribute(XNamespace.Xmlns + "wsu", Wsu.NamespaceName),
            new XAttribute(ns + "mustUnderstand", version == SoapVersion.Soap11 ? "1" : "true"), usernameToken);
    }

    /// <summary>A SOAP fault in an answer: whether the receiver (server) is to blame, its code and its text; null when there is none.</summary>
    public static SoapFault? Fault(string body)
    {
        if (string.IsNullOrWhiteSpace(body)) return null;
        XElement root;
        try
        {
            root = XElement.Parse(body);
        }
        catch (XmlException)
        {
            return null;
        }
        foreach (var ns in new[] { Ns11, Ns12 })
        {
            if (root.Name != ns + "Envelope" || root.Element(ns + "Body")?.Element(ns + "Fault") is not { } fault) continue;
            if (ns == Ns11)
            {
                var code = fault.Element("faultcode") ?? fault.Element(ns + "faultcode");
                var text = (fault.Element("faultstring") ?? fault.Element(ns + "faultstring"))?.Value.Trim() ?? "";
                var local = LocalName(code);
                // soap:Server (and dotted refinements such as Server.Timeout) is the receiver's fault; Client and the rest are the message's.
                return new SoapFault(local.Split('.')[0] == "Server", code?.Value.Trim() ?? "", text);
            }
            var value = fault.Element(ns + "Code")?.Element(ns + "Value");
            var reason = fault.Element(ns + "Reason")?.Elements(ns + "Text").FirstOrDefault()?.Value.Trim() ?? "";
            return new SoapFault(LocalName(value) == "Receiver", value?.Value.Trim() ?? "", reason);
        }
        return null;
    }

    // A QName's local part, its prefix resolved against the element's namespaces (any prefix may be used).
    private static string LocalName(XElement? code)
    {
        var text = code?.Value.Trim() ?? "";
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? text : text[(colon + 1)..];
    }
}

/// <summary>A SOAP fault: <see cref="Receiver"/> for soap:Server / env:Receiver (transient), else the sender's (permanent).</summary>
internal sealed record SoapFault(bool Receiver, string Code, string Text);
