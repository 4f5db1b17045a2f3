using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Jint;
using Jint.Native;
using Jint.Native.Json;
using Lockstep.Configuration;
using Lockstep.Deliveries;
using Lockstep.Records;

namespace Lockstep.Mapping;

/// <summary>
/// A flow's <c>filter</c> and <c>map</c>, run sandboxed in Jint with a time, memory and recursion limit per call.
/// Engines are not thread-safe and costly to build, so each flow keeps a small pool of ready ones.
/// </summary>
internal sealed class FlowScripts(FlowDefinition flow, MappingLimits limits) : IDisposable
{
    private readonly Prepared<Acornima.Ast.Script>? _map = flow.Map is null ? null : Engine.PrepareScript(flow.Map);
    private readonly Prepared<Acornima.Ast.Script>? _filter = flow.Filter is null ? null : Engine.PrepareScript(flow.Filter);
    private readonly ConcurrentBag<Sandbox> _pool = [];
    private readonly MappingLimits _limits = limits;

    public MapResult Map(Delivery delivery)
    {
        if (_map is null && _filter is null)
        {
            return delivery.Data is null
                ? new MapResult(MapStatus.Failed, default, "the event has no data to send and the flow has no map")
                : new MapResult(MapStatus.Mapped, Encoding.UTF8.GetBytes(delivery.Data), null);
        }
        if (!_pool.TryTake(out var sandbox)) sandbox = new Sandbox(this);
        try
        {
            return sandbox.Run(delivery);
        }
        finally
        {
            _pool.Add(sandbox);
        }
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
        while (_pool.TryTake(out var sandbox)) sandbox.Dispose();
    }

    private sealed class Sandbox : IDisposable
    {
        private readonly Engine _engine;
        private readonly JsValue? _map;
        private readonly JsValue? _filter;
        private readonly JsonParser _parser;
        private readonly Jint.Native.Json.JsonSerializer _serializer;

        public Sandbox(FlowScripts owner)
        {
            _engine = new Engine(o => o
                .TimeoutInterval(owner._limits.Timeout)
                .LimitMemory(owner._limits.MemoryBytes)
                .LimitRecursion(owner._limits.RecursionDepth)
                .Strict());
            _map = owner._map is { } map ? _engine.Evaluate(map) : null;
            _filter = owner._filter is { } filter ? _engine.Evaluate(filter) : null;
            _parser = new JsonParser(_engine);
            _serializer = new Jint.Native.Json.JsonSerializer(_engine);
        }

        public MapResult Run(Delivery delivery)
        {
            try
            {
                var data = delivery.Data is null ? JsValue.Null : _parser.Parse(delivery.Data);
                var record = _parser.Parse(RecordJson(delivery));
                if (_filter is not null && !Jint.Runtime.TypeConverter.ToBoolean(_engine.Invoke(_filter, data, record))) return MapResult.Skip;
                if (_map is null)
                {
                    return delivery.Data is null
                        ? new MapResult(MapStatus.Failed, default, "the event has no data to send and the flow has no map")
                        : new MapResult(MapStatus.Mapped, Encoding.UTF8.GetBytes(delivery.Data), null);
                }
                var mapped = _engine.Invoke(_map, data, record);
                if (mapped.IsNull() || mapped.IsUndefined()) return MapResult.Skip;
                var json = _serializer.Serialize(mapped, JsValue.Undefined, JsValue.Undefined);
                if (json.IsUndefined()) return new MapResult(MapStatus.Failed, default, "map returned a value that is not JSON (a function or symbol)");
                return new MapResult(MapStatus.Mapped, Encoding.UTF8.GetBytes(json.AsString()), null);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return new MapResult(MapStatus.Failed, default, Describe(e));
            }
        }

        public void Dispose() => _engine.Dispose();

        private static string Describe(Exception e) => e switch
        {
            TimeoutException => "map/filter exceeded its time limit",
            Jint.Runtime.MemoryLimitExceededException => "map/filter exceeded its memory limit",
            Jint.Runtime.RecursionDepthOverflowException => "map/filter exceeded its recursion limit",
            Jint.Runtime.JavaScriptException js => "JavaScript error: " + js.Message,
            _ => "map/filter failed: " + e.Message,
        };
    }
}
