using System.Globalization;
using System.Security;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using Lockstep.Deliveries;

namespace Lockstep.Connectors.Http.Soap;

/// <summary>
/// A flow's <c>envelope:</c>: XML with placeholders. <c>{key}</c>, <c>{entity}</c>, <c>{version}</c>, <c>{flow}</c> are
/// the delivery's; any other <c>{field}</c> or <c>{a.b}</c> is a field of the mapped record. Every value is XML-escaped,
/// so a record can never add markup. The template is either a whole <c>Envelope</c> (of the flow's SOAP version) or
/// the one element that goes in its <c>Body</c>.
/// </summary>
internal sealed partial class SoapTemplate
{
    private static readonly string[] DeliveryNames = ["key", "entity", "version", "flow"];

    private SoapTemplate(string text, bool isEnvelope, IReadOnlyList<string> fields)
    {
        Text = text;
        IsEnvelope = isEnvelope;
        Fields = fields;
    }

    public string Text { get; }

    /// <summary>Whether the template is a whole envelope; else it is the Body's content.</summary>
    public bool IsEnvelope { get; }

    /// <summary>The record fields it uses (placeholders other than the delivery's).</summary>
    public IReadOnlyList<string> Fields { get; }

    public static SoapTemplate? Parse(string text, SoapVersion version, out string? error)
    {
        error = null;
        var fields = Placeholder().Matches(text).Select(m => m.Groups[1].Value).Where(n => !DeliveryNames.Contains(n)).Distinct().ToList();
        XElement root;
        try
        {
            root = XElement.Parse(Placeholder().Replace(text, "x"), LoadOptions.None);
        }
        catch (XmlException e)
        {
            error = $"is not well-formed XML: {e.Message}";
            return null;
        }
        var isEnvelope = root.Name.LocalName == "Envelope" && (root.Name.Namespace == SoapMessages.Ns11 || root.Name.Namespace == SoapMessages.Ns12);
        if (isEnvelope && root.Name.Namespace != SoapMessages.Namespace(version))
        {
            error = $"is a SOAP {(root.Name.Namespace == SoapMessages.Ns11 ? "1.1" : "1.2")} envelope but soapVersion is {(version == SoapVersion.Soap11 ? "1.1" : "1.2")}";
            return null;
        }
        if (isEnvelope && root.Element(SoapMessages.Namespace(version) + "Body") is null)
        {
            error = "is an Envelope without a Body";
            return null;
        }
        return new SoapTemplate(text, isEnvelope, fields);
    }

    /// <summary>The filled template, or why the record cannot fill it (a missing field, an object where text goes).</summary>
    public (XElement? Xml, string? Error) Render(Delivery delivery, JsonElement? record, string key)
    {
        string? error = null;
        var filled = Placeholder().Replace(Text, m =>
        {
            var name = m.Groups[1].Value;
            var value = name switch
            {
                "key" => delivery.Key,
                "entity" => delivery.Entity,
                "version" => delivery.Version.ToString(CultureInfo.InvariantCulture),
                "flow" => delivery.Flow,
                _ => Field(record, name, key, ref error),
            };
            return SecurityElement.Escape(value) ?? "";
        });
        if (error is not null) return (null, error);
        try
        {
            return (XElement.Parse(filled, LoadOptions.None), null);
        }
        catch (XmlException e)
        {
            // Escaping keeps markup out; what is left is a character XML cannot hold (a control character).
            return (null, $"the {key} cannot be filled with this record: {e.Message}");
        }
    }

    private static string Field(JsonElement? record, string path, string key, ref string? error)
    {
        if (record is not { ValueKind: JsonValueKind.Object } current)
        {
            error ??= $"{{{path}}} in {key} needs a mapped record (a delete has only {{key}}, {{entity}}, {{version}}, {{flow}})";
            return "";
        }
        foreach (var part in path.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(part, out current))
            {
                error ??= $"the mapped record has no field '{path}' (used in {key})";
                return "";
            }
        }
        switch (current.ValueKind)
        {
            case JsonValueKind.String:
                return current.GetString()!;
            case JsonValueKind.Number:
                return current.GetRawText();
            case JsonValueKind.True:
                return "true";
            case JsonValueKind.False:
                return "false";
            case JsonValueKind.Null:
                return "";
            default:
                error ??= $"the mapped field '{path}' is an {(current.ValueKind == JsonValueKind.Array ? "array" : "object")}; {key} placeholders take text, numbers or booleans";
                return "";
        }
    }

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")]
    private static partial Regex Placeholder();
}
