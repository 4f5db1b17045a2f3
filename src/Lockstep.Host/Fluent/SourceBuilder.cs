namespace Lockstep.Host.Fluent;

/// <summary>A poll source: the request, its schedule, how items become records, and what to do on each change.</summary>
public sealed class SourceBuilder
{
    private readonly LockstepBuilder _owner;
    private readonly string _name;
    private Func<Change, CancellationToken, Task>? _onChange;

    internal SourceBuilder(LockstepBuilder owner, string system)
    {
        _owner = owner;
        _name = system;
        Node["from"] = system;
    }

    private SortedDictionary<string, object> Node => _owner.Tree.At("sources", _name);

    /// <summary>GETs <paramref name="path"/> (with <c>{cursor}</c> filled in) every <paramref name="every"/>.</summary>
    public SourceBuilder Poll(string path, TimeSpan every)
    {
        Node["type"] = "http-poll";
        Node["get"] = "GET " + path;
        Node["interval"] = every;
        return this;
    }

    /// <summary>Polls on a cron schedule instead of an interval.</summary>
    public SourceBuilder Cron(string cron, string? timeZone = null)
    {
        Node.Remove("interval");
        Node["cron"] = cron;
        if (timeZone is not null) Node["timeZone"] = timeZone;
        return this;
    }

    /// <summary>Each item is a record of <paramref name="entity"/> keyed by a field; version and cursor come from the data.</summary>
    public SourceBuilder Entity(string entity, string key, string? version = null, string? cursor = null, TimeSpan? overlap = null)
    {
        Node["entity"] = entity;
        Node["key"] = key;
        if (version is not null) Node["version"] = version;
        if (cursor is not null) Node["cursor"] = cursor;
        if (overlap is { } o) Node["overlap"] = o;
        return this;
    }

    /// <summary>A JavaScript <c>map</c> from an item to <c>{entity, key, version?, data}</c>.</summary>
    public SourceBuilder Map(string script)
    {
        Node["map"] = new ConfigTree.Script(script);
        return this;
    }

    /// <summary>
    /// Calls <paramref name="handler"/> for every new version of this source's records, through the journal: in order per
    /// record, once per version, retried with backoff when it throws (an exception is a transient failure).
    /// </summary>
    public SourceBuilder OnChange(Func<Change, CancellationToken, Task> handler)
    {
        _onChange = handler;
        return this;
    }

    /// <inheritdoc cref="OnChange(Func{Change, CancellationToken, Task})"/>
    public SourceBuilder OnChange(Action<Change> handler) => OnChange((change, _) =>
    {
        handler(change);
        return Task.CompletedTask;
    });

    internal void Complete()
    {
        if (_onChange is null) return;
        var entity = Node.TryGetValue("entity", out var e) ? (string)e : throw new InvalidOperationException($"source '{_name}': OnChange needs Entity(...) to know which records to hand over");
        var name = _name + "-on-change";
        _owner.Handlers.Add(name, _onChange);
        var system = _owner.Tree.At("systems", name);
        system["type"] = ChangeHandlers.TypeName;
        system["handler"] = name;
        var flow = _owner.Tree.At("flows", name);
        flow["entity"] = entity;
        flow["to"] = name;
    }
}
