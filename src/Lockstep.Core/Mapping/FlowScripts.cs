using System.Text;
using System.Text.Json;
using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Records;

namespace Lockstep.Mapping;

/// <summary>A flow's <c>filter</c> and <c>map</c>: what, if anything, to send for one record version.</summary>
internal sealed class FlowScripts(FlowDefinition flow, MappingLimits limits) : IDisposable
{
    private readonly ScriptFunction? _map = flow.Map is null ? null : new ScriptFunction(flow.Map, limits);
    private readonly ScriptFunction? _filter = flow.Filter is null ? null : new ScriptFunction(flow.Filter, limits);

    public MapResult Map(Delivery delivery)
    {
        var result = MapPlain(delivery);
        if (result.Status != MapStatus.Mapped || flow.Encrypt is not { } encrypt) return result;
        try
        {
            return result with { Body = Encryption.FieldEnvelope.Seal(result.Body.Span, encrypt) };
        }
        catch (Exception e) when (e is InvalidOperationException or System.Text.Json.JsonException)
        {
            return new MapResult(MapStatus.Failed, default, "encrypt: " + e.Message);
        }
    }

    /// <summary>The mapped record as reconciliation compares it: encrypted fields left out (their ciphertext differs every time).</summary>
    public MapResult MapForComparison(Delivery delivery)
    {
        var result = MapPlain(delivery);
        if (result.Status != MapStatus.Mapped || flow.Encrypt is not { } encrypt) return result;
        if (System.Text.Json.Nodes.JsonNode.Parse(result.Body.Span) is not System.Text.Json.Nodes.JsonObject root) return result;
        foreach (var path in encrypt.Fields)
        {
            var parts = path.Split('.');
            var parent = root;
            for (var i = 0; i < parts.Length - 1 && parent is not null; i++) parent = parent[parts[i]] as System.Text.Json.Nodes.JsonObject;
            parent?.Remove(parts[^1]);
        }
        return result with { Body = Encoding.UTF8.GetBytes(root.ToJsonString()) };
    }

    private MapResult MapPlain(Delivery delivery)
    {
        var record = _map is null && _filter is null ? null : RecordJson(delivery);
        if (_filter is not null)
        {
            var keep = _filter.Invoke(delivery.Data, record, truthiness: true);
            if (keep.Error is not null) return new MapResult(MapStatus.Failed, default, "filter: " + keep.Error);
            if (keep.Json == "false") return MapResult.Skip;
        }
        if (_map is null)
        {
            return delivery.Data is null
                ? new MapResult(MapStatus.Failed, default, "the event has no data to send and the flow has no map")
                : new MapResult(MapStatus.Mapped, Encoding.UTF8.GetBytes(delivery.Data), null);
        }
        var mapped = _map.Invoke(delivery.Data, record);
        if (mapped.Error is not null) return new MapResult(MapStatus.Failed, default, mapped.Error);
        return mapped.Json is null ? MapResult.Skip : new MapResult(MapStatus.Mapped, Encoding.UTF8.GetBytes(mapped.Json), null);
    }

    private static string RecordJson(Delivery d)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id", d.EventId);
            writer.WriteString("type", d.EventType);
            writer.WriteString("entity", d.Entity);
            writer.WriteString("key", d.Key);
            writer.WriteNumber("version", d.Version);
            writer.WriteString("op", d.Op == RecordOp.Delete ? "delete" : "upsert");
            writer.WriteString("flow", d.Flow);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public void Dispose()
    {
        _map?.Dispose();
        _filter?.Dispose();
    }
}
