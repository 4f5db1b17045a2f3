using Lockstep.Configuration;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Host.Api;

/// <summary>Filters by name (?flow=, ?system=, ?pair=) must name something configured: a typo is a 400, not an empty list.</summary>
internal static class KnownNames
{
    /// <summary>A 400 naming the field and the names there are, or null when every given name is known.</summary>
    public static IResult? Check(LockstepConfig config, string? flow, string? system, string? pair = null)
    {
        if (flow is not null && !config.Flows.Any(f => f.Name == flow)) return Unknown("flow", flow, config.Flows.Select(f => f.Name));
        if (system is not null && !config.Systems.ContainsKey(system)) return Unknown("system", system, config.Systems.Keys);
        if (pair is not null && !config.Sync.Any(p => p.Name == pair)) return Unknown("pair", pair, config.Sync.Select(p => p.Name));
        return null;
    }

    private static IResult Unknown(string field, string name, IEnumerable<string> known)
    {
        var names = known.Order(StringComparer.Ordinal).ToList();
        var listed = names.Count == 0 ? $"there are no {field}s" : $"{field}s: {string.Join(", ", names.Take(20))}{(names.Count > 20 ? ", ..." : "")}";
        return Problems.Of(400, "Invalid request", $"no {field} named '{name}' ({listed})", [new FieldError(null, field, "unknown name")]);
    }
}
