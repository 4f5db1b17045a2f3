namespace Lockstep.Host.Fluent;

/// <summary>Flows into one system: each <see cref="Put"/>/<see cref="Post"/> adds a flow for an entity (named <c>ENTITY-to-SYSTEM</c>).</summary>
public sealed class TargetBuilder
{
    private readonly LockstepBuilder _owner;
    private readonly string _system;
    private string? _flow;

    internal TargetBuilder(LockstepBuilder owner, string system)
    {
        _owner = owner;
        _system = system;
    }

    /// <summary>Upserts each version of <paramref name="entity"/> with <c>PUT path</c> (<c>{key}</c> filled in).</summary>
    public TargetBuilder Put(string path, string entity, string? map = null) => Upsert("PUT", path, entity, map);

    /// <summary>Upserts each version of <paramref name="entity"/> with <c>POST path</c>.</summary>
    public TargetBuilder Post(string path, string entity, string? map = null) => Upsert("POST", path, entity, map);

    /// <summary>Deletes with <c>DELETE path</c> on the last flow added.</summary>
    public TargetBuilder Delete(string path) => Operation("delete", "DELETE " + path);

    /// <summary>Reads one record back with <c>GET path</c> on the last flow added (for reconciliation).</summary>
    public TargetBuilder Get(string path) => Operation("get", "GET " + path);

    /// <summary>A JavaScript <c>filter</c> on the last flow added: only versions it returns true for are sent.</summary>
    public TargetBuilder Filter(string script) => Operation("filter", new ConfigTree.Script(script));

    /// <summary>Reconciles the last flow added on a cron schedule (needs <see cref="Get"/>).</summary>
    public TargetBuilder Reconcile(string cron)
    {
        Flow()["reconcile"] = new SortedDictionary<string, object>(StringComparer.Ordinal) { ["cron"] = cron };
        return this;
    }

    private TargetBuilder Upsert(string method, string path, string entity, string? map)
    {
        _flow = $"{entity}-to-{_system}";
        var flow = Flow();
        flow["entity"] = entity;
        flow["to"] = _system;
        flow["upsert"] = $"{method} {path}";
        if (map is not null) flow["map"] = new ConfigTree.Script(map);
        return this;
    }

    private TargetBuilder Operation(string key, object value)
    {
        Flow()[key] = value;
        return this;
    }

    private SortedDictionary<string, object> Flow() =>
        _owner.Tree.At("flows", _flow ?? throw new InvalidOperationException($"target '{_system}': add Put or Post first"));
}
