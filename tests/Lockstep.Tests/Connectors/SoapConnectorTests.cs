using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using System.Xml.Schema;
using Lockstep.Configuration;
using Lockstep.Records;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Tests.Connectors;

/// <summary>
/// The soap target against a real Kestrel partner endpoint that validates every envelope against XSDs (SOAP 1.1 and
/// 1.2 envelopes, WS-Security UsernameToken, the partner's operations) with System.Xml.Schema, checks the action and
/// the UsernameToken, and answers SOAP faults the way the partner does.
/// </summary>
public sealed class SoapConnectorTests : IAsyncDisposable
{
    private const string Password = "partner-Secret-8842";
    private readonly SoapPartner _partner = new();

    public ValueTask DisposeAsync() => _partner.DisposeAsync();

    private static readonly Dictionary<string, string> Env = new() { ["PARTNER_PW"] = Password };

    private static string Yaml(string url, string version, string passwordType = "text") => $$"""
        storage: sqlite:lockstep.db
        systems:
          partner:
            type: soap
            url: {{url}}
            usernameToken: { username: partner, password: "${PARTNER_PW}", passwordType: {{passwordType}} }
        flows:
          permits-to-partner:
            on: [permitApproved, permitRevoked]
            to: partner
            soapVersion: "{{version}}"
            action: urn:partner:permits/Upsert
            map: (p) => ({ id: p.id, status: p.status, fee: p.id == 'P-bad' ? 'twelve' : 12.5 })
            envelope: |
              <p:UpsertPermit xmlns:p="urn:partner:permits">
                <p:Id>{id}</p:Id><p:Status>{status}</p:Status><p:Fee>{fee}</p:Fee><p:Version>{version}</p:Version>
              </p:UpsertPermit>
            deleteEnvelope: <p:RemovePermit xmlns:p="urn:partner:permits"><p:Id>{key}</p:Id><p:Version>{version}</p:Version></p:RemovePermit>
            deleteAction: urn:partner:permits/Remove
            retry: { maxAttempts: 20, initialDelay: 50ms, maxDelay: 100ms }
        """;

    [Fact]
    public async Task SOAP_1_1_envelopes_with_a_UsernameToken_validate_escape_record_values_and_a_Server_fault_is_retried()
    {
        var url = await _partner.StartAsync();
        _partner.ServerFaults = 2;
        await using var engine = await TestEngine.StartAsync(Yaml(url + "/soap11", "1.1"), TimeProvider.System, Env, new TempFolder());

        await engine.PublishAsync(TestEngine.Permit("P-1", 1, status: "A&B <x/> \\\"q\\\" ]]>"), TestEngine.Permit("P-2", 1), TestEngine.Permit("P-3", 1));
        await engine.WaitForStateAsync("synced");
        await engine.PublishAsync(TestEngine.Permit("P-3", 2, type: "permitRevoked", op: RecordOp.Delete));
        await engine.WaitForStateAsync("synced");

        Assert.Empty(_partner.Rejected);
        Assert.Equal("A&B <x/> \"q\" ]]>", _partner.Permits["P-1"].Status);
        Assert.Equal(("approved", 12.5m, 1L), (_partner.Permits["P-2"].Status, _partner.Permits["P-2"].Fee, _partner.Permits["P-2"].Version));
        Assert.Equal(2L, _partner.Removed["P-3"]);
        Assert.All(_partner.Actions, a => Assert.StartsWith("\"urn:partner:permits/", a, StringComparison.Ordinal));
        Assert.Contains("\"urn:partner:permits/Remove\"", _partner.Actions);
        var attempts = (await engine.Engine.RecordHistoryAsync("permit", "P-1", CancellationToken.None)).Flows["permits-to-partner"]
            .Concat((await engine.Engine.RecordHistoryAsync("permit", "P-2", CancellationToken.None)).Flows["permits-to-partner"])
            .Concat((await engine.Engine.RecordHistoryAsync("permit", "P-3", CancellationToken.None)).Flows["permits-to-partner"]).ToList();
        var failed = attempts.Where(a => a.Error is not null).ToList();
        Assert.Equal(2, failed.Count);
        Assert.All(failed, a => Assert.Contains("SOAP fault soap:Server: backend busy", a.Error, StringComparison.Ordinal));
        // The partner's fault echoed the password it received: never shown.
        Assert.All(failed, a => Assert.DoesNotContain(Password, a.Error, StringComparison.Ordinal));
        Assert.DoesNotContain(engine.Logs.Lines, l => l.Contains(Password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SOAP_1_2_sends_the_action_parameter_a_digest_token_and_a_Sender_fault_is_permanent_a_Receiver_fault_transient()
    {
        var url = await _partner.StartAsync();
        _partner.ReceiverFaults = 1;
        await using var engine = await TestEngine.StartAsync(Yaml(url + "/soap12", "1.2", "digest"), TimeProvider.System, Env, new TempFolder());

        await engine.PublishAsync(TestEngine.Permit("P-1", 1), TestEngine.Permit("P-bad", 1));
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Flows["permits-to-partner"] is { Dead: 1, Delivered: 1 }, "one delivered, one dead", signal: engine.Committed);

        Assert.Equal(1L, _partner.Permits["P-1"].Version);
        Assert.DoesNotContain("P-bad", _partner.Permits.Keys);
        Assert.All(_partner.Actions, a => Assert.Equal("\"urn:partner:permits/Upsert\"", a));
        var dead = Assert.Single(await engine.Engine.DeadLetters.ListAsync(null, null, 10, CancellationToken.None));
        Assert.Equal("P-bad", dead.Key);
        Assert.Equal(1, dead.Attempts);
        Assert.Contains("SOAP fault env:Sender", dead.Error, StringComparison.Ordinal);
        Assert.Contains("Fee", dead.Error, StringComparison.Ordinal);
        var history = (await engine.Engine.RecordHistoryAsync("permit", "P-1", CancellationToken.None)).Flows["permits-to-partner"];
        Assert.Contains(history, a => a.Outcome != "success" && a.Error!.Contains("SOAP fault env:Receiver: try again", StringComparison.Ordinal));
        Assert.Contains(history, a => a.Outcome == "delivered");
        Assert.True(_partner.DigestsChecked > 0);
    }

    [Fact]
    public async Task Config_errors_name_file_line_and_key()
    {
        var yaml = Yaml("http://127.0.0.1:1/soap", "1.1");
        var cases = new[]
        {
            (yaml.Replace("<p:Id>{id}</p:Id>", "<p:Id>{id}</p:Idx>", StringComparison.Ordinal), "flows.permits-to-partner.envelope", "not well-formed XML"),
            (yaml.Replace("soapVersion: \"1.1\"", "soapVersion: \"1.3\"", StringComparison.Ordinal), "flows.permits-to-partner.soapVersion", "not one of 1.1, 1.2"),
            (yaml.Replace("deleteEnvelope: <p:RemovePermit", "deleteEnvelope: <e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\"><e:Body/></e:Envelope><p:RemovePermit", StringComparison.Ordinal), "flows.permits-to-partner.deleteEnvelope", "not well-formed"),
            (yaml.Replace("password: \"${PARTNER_PW}\", ", "", StringComparison.Ordinal), "systems.partner.usernameToken.password", "required"),
            (yaml.Replace("passwordType: text", "passwordType: plain", StringComparison.Ordinal), "systems.partner.usernameToken.passwordType", "not one of text, digest"),
        };
        var noEnvelope = yaml[..yaml.IndexOf("    envelope: |", StringComparison.Ordinal)] + "    retry: { maxAttempts: 3 }\n";
        var wrongVersion = yaml.Replace("deleteEnvelope: <p:RemovePermit xmlns:p=\"urn:partner:permits\"><p:Id>{key}</p:Id><p:Version>{version}</p:Version></p:RemovePermit>",
            "deleteEnvelope: <e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\"><e:Body/></e:Envelope>", StringComparison.Ordinal);

        foreach (var (text, path, message) in cases.Append((noEnvelope, "flows.permits-to-partner.envelope", "required"))
                     .Append((wrongVersion, "flows.permits-to-partner.deleteEnvelope", "SOAP 1.2 envelope but soapVersion is 1.1")))
        {
            var errors = Assert.Throws<ConfigException>(() => TestEngine.Load(text, "/tmp", Env)).Errors;
            Assert.Contains(errors, e => e.Path == path && e.Message.Contains(message, StringComparison.Ordinal) && e.Line > 0 && e.File.Length > 0);
            Assert.All(errors, e => Assert.DoesNotContain(Password, e.ToString(), StringComparison.Ordinal));
        }
    }

    /// <summary>The partner: XSD-validated SOAP 1.1 and 1.2 endpoints holding permits, with faults on demand.</summary>
    private sealed class SoapPartner : IAsyncDisposable
    {
        private static readonly XNamespace P = "urn:partner:permits";
        private static readonly XNamespace Wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
        private static readonly XNamespace Wsu = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
        private readonly XmlSchemaSet _schemas = Schemas();
        private PartnerServer? _server;
        private int _serverFaults;
        private int _receiverFaults;
        private int _digests;

        public ConcurrentDictionary<string, (string Status, decimal Fee, long Version)> Permits { get; } = new();

        public ConcurrentDictionary<string, long> Removed { get; } = new();

        public ConcurrentQueue<string> Actions { get; } = new();

        public ConcurrentQueue<string> Rejected { get; } = new();

        public int ServerFaults { set => _serverFaults = value; }

        public int ReceiverFaults { set => _receiverFaults = value; }

        public int DigestsChecked => _digests;

        public async Task<string> StartAsync()
        {
            _server = await PartnerServer.StartAsync(app =>
            {
                app.MapPost("/soap11", context => HandleAsync(context, soap12: false));
                app.MapPost("/soap12", context => HandleAsync(context, soap12: true));
            });
            return _server.Url;
        }

        private async Task HandleAsync(HttpContext context, bool soap12)
        {
            var ns = soap12 ? "http://www.w3.org/2003/05/soap-envelope" : "http://schemas.xmlsoap.org/soap/envelope/";
            var contentType = context.Request.ContentType ?? "";
            string? action;
            if (soap12)
            {
                if (!contentType.StartsWith("application/soap+xml", StringComparison.Ordinal)) { await FaultAsync(context, soap12, false, "wrong content type " + contentType); return; }
                var at = contentType.IndexOf("action=", StringComparison.Ordinal);
                action = at < 0 ? null : contentType[(at + 7)..].Split(';')[0].Trim();
            }
            else
            {
                if (!contentType.StartsWith("text/xml", StringComparison.Ordinal)) { await FaultAsync(context, soap12, false, "wrong content type " + contentType); return; }
                action = context.Request.Headers["SOAPAction"].ToString();
            }
            using var body = new StreamReader(context.Request.Body, Encoding.UTF8);
            var text = await body.ReadToEndAsync();
            XDocument document;
            try
            {
                var settings = new XmlReaderSettings { ValidationType = ValidationType.Schema, Schemas = _schemas, DtdProcessing = DtdProcessing.Prohibit };
                settings.ValidationFlags |= XmlSchemaValidationFlags.ReportValidationWarnings;
                settings.ValidationEventHandler += (_, e) => throw new XmlSchemaValidationException(e.Message);
                using var reader = XmlReader.Create(new StringReader(text), settings);
                document = XDocument.Load(reader);
            }
            catch (Exception e) when (e is XmlException or XmlSchemaException)
            {
                Rejected.Enqueue(e.Message);
                await FaultAsync(context, soap12, false, "invalid envelope: " + e.Message);
                return;
            }
            var root = document.Root!;
            if (root.Name.NamespaceName != ns) { await FaultAsync(context, soap12, false, "version mismatch"); return; }
            var token = root.Element(XName.Get("Header", ns))?.Element(Wsse + "Security")?.Element(Wsse + "UsernameToken");
            var password = token?.Element(Wsse + "Password");
            var ok = token?.Element(Wsse + "Username")?.Value == "partner" && password is not null && (password.Attribute("Type")!.Value.EndsWith("#PasswordDigest", StringComparison.Ordinal)
                ? Digest(token!, password.Value)
                : password.Value == Password);
            if (!ok) { await FaultAsync(context, soap12, false, "authentication failed"); return; }
            Actions.Enqueue(action ?? "");
            if (Interlocked.Decrement(ref _serverFaults) >= 0) { await FaultAsync(context, soap12, true, $"backend busy (user partner, password {Password})"); return; }
            if (Interlocked.Decrement(ref _receiverFaults) >= 0) { await FaultAsync(context, soap12, true, "try again"); return; }
            var operation = root.Element(XName.Get("Body", ns))!.Elements().Single();
            var id = operation.Element(P + "Id")!.Value;
            var version = long.Parse(operation.Element(P + "Version")!.Value, System.Globalization.CultureInfo.InvariantCulture);
            if (operation.Name == P + "RemovePermit")
            {
                if (action != "\"urn:partner:permits/Remove\"") { await FaultAsync(context, soap12, false, "wrong action " + action); return; }
                Permits.TryRemove(id, out _);
                Removed[id] = version;
            }
            else
            {
                if (action != "\"urn:partner:permits/Upsert\"") { await FaultAsync(context, soap12, false, "wrong action " + action); return; }
                Permits[id] = (operation.Element(P + "Status")!.Value, decimal.Parse(operation.Element(P + "Fee")!.Value, System.Globalization.CultureInfo.InvariantCulture), version);
            }
            context.Response.ContentType = soap12 ? "application/soap+xml; charset=utf-8" : "text/xml; charset=utf-8";
            await context.Response.WriteAsync($"<s:Envelope xmlns:s=\"{ns}\"><s:Body><p:Done xmlns:p=\"urn:partner:permits\"/></s:Body></s:Envelope>");
        }

        private bool Digest(XElement token, string digest)
        {
            var nonce = Convert.FromBase64String(token.Element(Wsse + "Nonce")!.Value);
            var created = token.Element(Wsu + "Created")!.Value;
#pragma warning disable CA5350 // the UsernameToken profile's digest is SHA-1
            var expected = Convert.ToBase64String(SHA1.HashData([.. nonce, .. Encoding.UTF8.GetBytes(created + Password)]));
#pragma warning restore CA5350
            Interlocked.Increment(ref _digests);
            return expected == digest;
        }

        private static Task FaultAsync(HttpContext context, bool soap12, bool receiver, string text)
        {
            var escaped = System.Security.SecurityElement.Escape(text);
            context.Response.StatusCode = soap12 && !receiver ? 400 : 500;
            if (soap12)
            {
                context.Response.ContentType = "application/soap+xml; charset=utf-8";
                return context.Response.WriteAsync($"""
                    <env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault>
                    <env:Code><env:Value>env:{(receiver ? "Receiver" : "Sender")}</env:Value></env:Code>
                    <env:Reason><env:Text xml:lang="en">{escaped}</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>
                    """);
            }
            context.Response.ContentType = "text/xml; charset=utf-8";
            return context.Response.WriteAsync($"""
                <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>
                <faultcode>soap:{(receiver ? "Server" : "Client")}</faultcode><faultstring>{escaped}</faultstring></soap:Fault></soap:Body></soap:Envelope>
                """);
        }

        private static XmlSchema Schema(string xsd)
        {
            using var reader = XmlReader.Create(new StringReader(xsd), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
            return XmlSchema.Read(reader, null)!;
        }

        private static XmlSchemaSet Schemas()
        {
            var set = new XmlSchemaSet();
            foreach (var ns in new[] { "http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope" })
                set.Add(Schema($"""
                    <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{ns}" elementFormDefault="qualified">
                      <xs:element name="Envelope"><xs:complexType><xs:sequence>
                        <xs:element name="Header" minOccurs="0"><xs:complexType><xs:sequence>
                          <xs:any namespace="##other" processContents="strict" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
                        <xs:element name="Body"><xs:complexType><xs:sequence>
                          <xs:any namespace="##other" processContents="strict"/></xs:sequence></xs:complexType></xs:element>
                      </xs:sequence></xs:complexType></xs:element>
                      <xs:attribute name="mustUnderstand" type="xs:boolean"/>
                    </xs:schema>
                    """));
            set.Add(Schema("""
                <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
                           xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" elementFormDefault="qualified">
                  <xs:import namespace="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"/>
                  <xs:element name="Security"><xs:complexType><xs:sequence>
                    <xs:element name="UsernameToken"><xs:complexType><xs:sequence>
                      <xs:element name="Username" type="xs:string"/>
                      <xs:element name="Password"><xs:complexType><xs:simpleContent><xs:extension base="xs:string">
                        <xs:attribute name="Type" type="xs:anyURI" use="required"/></xs:extension></xs:simpleContent></xs:complexType></xs:element>
                      <xs:element name="Nonce" minOccurs="0"><xs:complexType><xs:simpleContent><xs:extension base="xs:base64Binary">
                        <xs:attribute name="EncodingType" type="xs:anyURI"/></xs:extension></xs:simpleContent></xs:complexType></xs:element>
                      <xs:element ref="wsu:Created" minOccurs="0"/>
                    </xs:sequence></xs:complexType></xs:element>
                  </xs:sequence><xs:anyAttribute namespace="##other" processContents="strict"/></xs:complexType></xs:element>
                </xs:schema>
                """));
            set.Add(Schema("""
                <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" elementFormDefault="qualified">
                  <xs:element name="Created" type="xs:dateTime"/>
                </xs:schema>
                """));
            set.Add(Schema("""
                <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:partner:permits" elementFormDefault="qualified">
                  <xs:element name="UpsertPermit"><xs:complexType><xs:sequence>
                    <xs:element name="Id" type="xs:string"/><xs:element name="Status" type="xs:string"/>
                    <xs:element name="Fee" type="xs:decimal"/><xs:element name="Version" type="xs:long"/>
                  </xs:sequence></xs:complexType></xs:element>
                  <xs:element name="RemovePermit"><xs:complexType><xs:sequence>
                    <xs:element name="Id" type="xs:string"/><xs:element name="Version" type="xs:long"/>
                  </xs:sequence></xs:complexType></xs:element>
                  <xs:element name="Done"><xs:complexType/></xs:element>
                </xs:schema>
                """));
            set.Compile();
            return set;
        }

        public async ValueTask DisposeAsync()
        {
            if (_server is not null) await _server.DisposeAsync();
        }
    }
}
