using Lockstep.Configuration;

namespace Lockstep.Host.Fluent;

/// <summary>
/// Lockstep configured from C# instead of YAML, for an ASP.NET Core app:
/// <code>
/// services.AddLockstep(lockstep =>
/// {
///     lockstep.HttpSystem("county-clerk", "http://clerk.internal").HttpSystem("fire-marshal", "http://marshal.internal");
///     lockstep.Source("county-clerk").Poll("/permits?since={cursor}", every: TimeSpan.FromMinutes(5))
///         .Entity("permit", key: "id", version: "updatedAt", cursor: "updatedAt")
///         .OnChange((change, ct) => { ... });
///     lockstep.Target("fire-marshal").Put("/inspections/{key}", entity: "permit", map: "(p) => ({ permitId: p.id })");
/// });
/// </code>
/// It builds the same configuration a YAML file describes (and validates it the same way, every error at once), then
/// runs the same engine: journal, retries, order, dead letters and status are those of <c>lockstep run</c>.
/// </summary>
public sealed class LockstepBuilder
{
    private readonly List<SourceBuilder> _sources = [];

    internal ConfigTree Tree { get; } = new();

    internal ChangeHandlers Handlers { get; } = new();

    /// <summary><c>storage:</c>, e.g. <c>sqlite:data/lockstep.db</c> (relative to the folder given to <see cref="Build"/>).</summary>
    public LockstepBuilder Storage(string storage)
    {
        Tree.At()["storage"] = storage;
        return this;
    }

    /// <summary>An <c>http</c> system; <paramref name="bearerToken"/> may be <c>${ENV_NAME}</c> to read it from the environment.</summary>
    public LockstepBuilder HttpSystem(string name, string url, string? bearerToken = null)
    {
        var system = Tree.At("systems", name);
        system["type"] = "http";
        system["url"] = url;
        if (bearerToken is not null) Tree.At("systems", name, "auth")["bearer"] = bearerToken;
        return this;
    }

    /// <summary>Changes read from a system (poll it with <see cref="SourceBuilder.Poll"/>); the source is named after the system.</summary>
    public SourceBuilder Source(string system)
    {
        var source = new SourceBuilder(this, system);
        _sources.Add(source);
        return source;
    }

    /// <summary>
    /// A webhook source at <c>POST /webhooks/{name}</c>, verified as Standard Webhooks with <paramref name="secret"/>
    /// (<c>whsec_...</c>, or <c>${ENV_NAME}</c>); <paramref name="map"/> turns a body into <c>{entity, key, version, data}</c>.
    /// </summary>
    public LockstepBuilder WebhookSource(string name, string secret, string map)
    {
        var source = Tree.At("sources", name);
        source["type"] = "webhook";
        Tree.At("sources", name, "verify")["standardWebhooks"] = secret;
        source["map"] = new ConfigTree.Script(map);
        return this;
    }

    /// <summary>Changes written to a system, one flow per operation added.</summary>
    public TargetBuilder Target(string system) => new(this, system);

    /// <summary>Validates and returns the configuration (a <see cref="ConfigException"/> lists every problem).</summary>
    /// <param name="folder">Where relative paths (the journal) are resolved.</param>
    public LockstepConfig Build(string folder)
    {
        foreach (var source in _sources) source.Complete();
        var loader = new ConfigLoader(LockstepServiceCollectionExtensions.ConnectorFactories.Append(Handlers));
        return loader.Parse(Tree.ToYaml(), Path.Combine(Path.GetFullPath(folder), "lockstep (built in code).yaml")) with { ExtraConnectors = [Handlers] };
    }

    /// <summary>The YAML equivalent of what was built: handy to move a code setup into a file.</summary>
    public string ToYaml() => Tree.ToYaml();
}
