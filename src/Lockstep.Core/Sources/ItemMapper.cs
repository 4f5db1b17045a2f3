using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Events;
using Lockstep.Mapping;
using Lockstep.Records;

namespace Lockstep.Sources;

/// <summary>
/// Turns one item (a polled row or a pushed body) into an event: by field names (<c>key</c>, <c>version</c>,
/// <c>tombstone</c>) or by a JS <c>map</c> returning <c>{entity, key, version?, op?, data}</c>. An item without a
/// version gets one assigned, and its id is its content hash, so re-reading an unchanged item is a duplicate.
/// </summary>
internal sealed class ItemMapper(string source, ItemShape shape, MappingLimits limits) : IDisposable
{
    private readonly ScriptFunction? _map = shape.Map is null ? null : new ScriptFunction(shape.Map, limits);

    public (Event? Event, string? Cursor, string? Error) Map(string item, string? idHint = null)
    {
        try
        {
            using var original = JsonDocument.Parse(item);
            if (original.RootElement.ValueKind != JsonValueKind.Object) return (null, null, "an item must be a JSON object");
            var cursor = shape.CursorField is null ? null : Text(Field(original.RootElement, shape.CursorField));
            if (_map is null) return FromFields(original.RootElement, item, idHint, cursor);
            var mapped = _map.Invoke(item);
            if (mapped.Error is not null) return (null, null, mapped.Error);
            if (mapped.Json is null) return (null, cursor, null);
            using var document = JsonDocument.Parse(mapped.Json);
            if (document.RootElement.ValueKind != JsonValueKind.Object) return (null, null, "map must return an object");
            return FromMapped(document.RootElement, item, idHint, cursor);
        }
        catch (JsonException e)
        {
            return (null, null, "not JSON: " + e.Message);
        }
    }

    private (Event?, string?, string?) FromMapped(JsonElement root, string item, string? idHint, string? cursor)
    {
        var entity = Text(Field(root, "entity")) ?? shape.Entity;
        var key = Text(Field(root, "key"));
        if (entity is null || key is null) return (null, null, "map must return {entity, key, data}");
        var versionText = Text(Field(root, "version"));
        long? version = versionText is null ? null : CursorValue.Version(versionText);
        if (versionText is not null && version is null) return (null, null, $"version '{versionText}' is neither a whole number nor a timestamp");
        if (version is < 0 or > Event.MaxVersion) return (null, null, OutOfRange("version", version.Value));
        var op = Text(Field(root, "op")) == "delete" ? RecordOp.Delete : RecordOp.Upsert;
        var data = Field(root, "data") is { ValueKind: JsonValueKind.Object } d ? d.GetRawText() : null;
        if (op == RecordOp.Upsert && data is null) return (null, null, "map must return data (an object) for an upsert");
        return (new Event(Id(entity, key, version, data ?? item, idHint), shape.EventType, entity, key, version, op, data), cursor, null);
    }

    private (Event?, string?, string?) FromFields(JsonElement root, string item, string? idHint, string? cursor)
    {
        var key = shape.KeyField is null ? null : Text(Field(root, shape.KeyField));
        if (key is null) return (null, null, $"the item has no '{shape.KeyField}' (its key)");
        long? version = null;
        if (shape.VersionField is not null)
        {
            var text = Text(Field(root, shape.VersionField));
            version = text is null ? null : CursorValue.Version(text);
            if (version is null) return (null, null, $"'{shape.VersionField}' ({text ?? "missing"}) is neither a whole number nor a timestamp");
            if (version is < 0 or > Event.MaxVersion) return (null, null, OutOfRange(shape.VersionField, version.Value));
        }
        var deleted = shape.TombstoneField is not null && Field(root, shape.TombstoneField) is { } t && t.ValueKind is not (JsonValueKind.False or JsonValueKind.Null);
        var entity = shape.Entity!;
        return (new Event(Id(entity, key, version, item, idHint), shape.EventType, entity, key, version, deleted ? RecordOp.Delete : RecordOp.Upsert, item), cursor, null);
    }

    private static string OutOfRange(string field, long version) =>
        $"'{field}' ({version}) is out of range: a version is a whole number from 0 to {Event.MaxVersion}";

    private string Id(string entity, string key, long? version, string content, string? idHint)
    {
        if (idHint is not null) return $"{source}:{idHint}";
        if (version is { } v) return $"{source}:{EventIds.Derived(entity, key, v)}";
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)))[..16];
        return $"{source}:{EventIds.Escape(entity)}:{EventIds.Escape(key)}:#{hash}";
    }

    private static JsonElement? Field(JsonElement root, string path)
    {
        var current = root;
        foreach (var part in path.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(part, out current)) return null;
        }
        return current;
    }

    private static string? Text(JsonElement? value) => value switch
    {
        { ValueKind: JsonValueKind.String } s => Utf16(s),
        { ValueKind: JsonValueKind.Number } n => n.GetRawText(),
        _ => null,
    };

    /// <summary>A JSON string as text; one with a lone surrogate (<c>"\ud800"</c>) is not valid Unicode and fails the item.</summary>
    private static string Utf16(JsonElement value)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new JsonException("a string holds a lone surrogate (\\ud800-\\udfff without its pair), which is not valid Unicode");
        }
    }

    public void Dispose() => _map?.Dispose();
}
