using System.Collections.Concurrent;
using Jint;
using Jint.Native;
using Lockstep.Configuration;

namespace Lockstep.Mapping;

/// <summary>
/// One JavaScript function (a map, a filter, a source's item map) run sandboxed in Jint with a time, memory and
/// recursion limit per call. Engines are not thread-safe and costly to build, so a small pool of ready ones is kept.
/// </summary>
internal sealed class ScriptFunction(string source, MappingLimits limits) : IDisposable
{
    private readonly Prepared<Acornima.Ast.Script> _script = Engine.PrepareScript(source);
    private readonly ConcurrentBag<Sandbox> _pool = [];

    /// <summary>Calls the function with JSON arguments; returns its result as JSON (null for null/undefined), or the error.</summary>
    public ScriptResult Invoke(string? first, string? second = null, bool truthiness = false)
    {
        if (!_pool.TryTake(out var sandbox)) sandbox = new Sandbox(_script, limits);
        try
        {
            return sandbox.Invoke(first, second, truthiness);
        }
        finally
        {
            _pool.Add(sandbox);
        }
    }

    public void Dispose()
    {
        while (_pool.TryTake(out var sandbox)) sandbox.Dispose();
    }

    private sealed class Sandbox : IDisposable
    {
        private readonly Engine _engine;
        private readonly JsValue _function;
        private readonly Jint.Native.Json.JsonParser _parser;
        private readonly Jint.Native.Json.JsonSerializer _serializer;

        public Sandbox(Prepared<Acornima.Ast.Script> script, MappingLimits limits)
        {
            _engine = new Engine(o => o
                .TimeoutInterval(limits.Timeout)
                .LimitMemory(limits.MemoryBytes)
                .LimitRecursion(limits.RecursionDepth)
                .Strict());
            _function = _engine.Evaluate(script);
            _parser = new Jint.Native.Json.JsonParser(_engine);
            _serializer = new Jint.Native.Json.JsonSerializer(_engine);
        }

        public ScriptResult Invoke(string? first, string? second, bool truthiness)
        {
            try
            {
                var a = first is null ? JsValue.Null : _parser.Parse(first);
                var result = second is null ? _engine.Invoke(_function, a) : _engine.Invoke(_function, a, _parser.Parse(second));
                if (truthiness) return new ScriptResult(Jint.Runtime.TypeConverter.ToBoolean(result) ? "true" : "false", null);
                if (result.IsNull() || result.IsUndefined()) return new ScriptResult(null, null);
                var json = _serializer.Serialize(result, JsValue.Undefined, JsValue.Undefined);
                return json.IsUndefined()
                    ? new ScriptResult(null, "the function returned a value that is not JSON (a function or symbol)")
                    : new ScriptResult(json.AsString(), null);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return new ScriptResult(null, Describe(e));
            }
        }

        public void Dispose() => _engine.Dispose();

        private static string Describe(Exception e) => e switch
        {
            TimeoutException => "the script exceeded its time limit",
            Jint.Runtime.MemoryLimitExceededException => "the script exceeded its memory limit",
            Jint.Runtime.RecursionDepthOverflowException => "the script exceeded its recursion limit",
            Jint.Runtime.JavaScriptException js => "JavaScript error: " + js.Message,
            _ => "the script failed: " + e.Message,
        };
    }
}

/// <summary>A script call's JSON result (null when it returned null or undefined), or its error.</summary>
internal readonly record struct ScriptResult(string? Json, string? Error);
