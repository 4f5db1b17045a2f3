using System.Text.Json;
using System.Text.Json.Nodes;
using Lockstep.Sources;

namespace Lockstep.Conflicts;

/// <summary>
/// Applies a pair's policy to a record both sides changed since the last synced base. Pure: the journal calls it inside
/// the transaction that detected the conflict, so the decision and its effects commit together.
/// </summary>
public static class ConflictRules
{
    public static ConflictDecision Decide(SyncPair pair, string entity, string? baseData, string? source, bool sourceDeleted, string? target, bool targetDeleted)
    {
        var policy = pair.PolicyFor(entity);
        return policy switch
        {
            ConflictPolicy.SourceWins => Take("source", source, sourceDeleted, "sourceWins"),
            ConflictPolicy.TargetWins => Take("target", target, targetDeleted, "targetWins"),
            ConflictPolicy.LastWriterWins => LastWriter(pair, source, sourceDeleted, target, targetDeleted),
            ConflictPolicy.Merge => Merge(pair, baseData, source, sourceDeleted, target, targetDeleted),
            _ => new ConflictDecision("open", null, false, "manual: waiting for an operator"),
        };
    }

    private static ConflictDecision Take(string side, string? data, bool deleted, string why) => new(side, deleted ? null : data, deleted, why);

    private static ConflictDecision LastWriter(SyncPair pair, string? source, bool sourceDeleted, string? target, bool targetDeleted)
    {
        var s = Timestamp(source, pair.TimestampField);
        var t = Timestamp(target, pair.TimestampField);
        // Ties, and a side without a timestamp against one with, are settled the same way every time: the source wins a tie.
        return t > s
            ? Take("target", target, targetDeleted, $"lastWriterWins: target's {pair.TimestampField} is later")
            : Take("source", source, sourceDeleted, s == t ? $"lastWriterWins: same {pair.TimestampField}, the source wins ties" : $"lastWriterWins: source's {pair.TimestampField} is later");
    }

    private static long Timestamp(string? data, string? field)
    {
        if (data is null || field is null) return long.MinValue;
        try
        {
            using var document = JsonDocument.Parse(data);
            var current = document.RootElement;
            foreach (var part in field.Split('.'))
            {
                if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(part, out current)) return long.MinValue;
            }
            var text = current.ValueKind switch
            {
                JsonValueKind.String => current.GetString(),
                JsonValueKind.Number => current.GetRawText(),
                _ => null,
            };
            return text is not null && CursorValue.Version(text) is { } value ? value : long.MinValue;
        }
        catch (JsonException)
        {
            return long.MinValue;
        }
    }

    private static ConflictDecision Merge(SyncPair pair, string? baseData, string? source, bool sourceDeleted, string? target, bool targetDeleted)
    {
        if (sourceDeleted || targetDeleted || source is null || target is null)
            return Fallback(pair, source, sourceDeleted, target, targetDeleted, "merge: a delete cannot be merged field by field");
        JsonObject b, s, t;
        try
        {
            b = (baseData is null ? null : JsonNode.Parse(baseData) as JsonObject) ?? [];
            s = JsonNode.Parse(source) as JsonObject ?? [];
            t = JsonNode.Parse(target) as JsonObject ?? [];
        }
        catch (JsonException)
        {
            return Fallback(pair, source, sourceDeleted, target, targetDeleted, "merge: a side is not a JSON object");
        }
        var merged = new JsonObject();
        var both = new List<string>();
        foreach (var name in s.Select(p => p.Key).Union(t.Select(p => p.Key)).Union(b.Select(p => p.Key)).Distinct(StringComparer.Ordinal))
        {
            var inS = s.TryGetPropertyValue(name, out var sv);
            var inT = t.TryGetPropertyValue(name, out var tv);
            var inB = b.TryGetPropertyValue(name, out var bv);
            var sChanged = inS != inB || !JsonNode.DeepEquals(sv, bv);
            var tChanged = inT != inB || !JsonNode.DeepEquals(tv, bv);
            var same = inS == inT && JsonNode.DeepEquals(sv, tv);
            (bool Present, JsonNode? Value) pick;
            if (same || !tChanged) pick = (inS, sv);
            else if (!sChanged) pick = (inT, tv);
            else
            {
                both.Add(name);
                continue;
            }
            if (pick.Present) merged[name] = pick.Value?.DeepClone();
        }
        if (both.Count == 0) return new ConflictDecision("merged", merged.ToJsonString(), false, "merge: no field changed on both sides");
        var fallback = Decide(pair with { Policy = pair.Fallback, EntityPolicies = new Dictionary<string, ConflictPolicy>() }, "", baseData, source, false, target, false);
        if (fallback.Outcome == "open") return fallback with { Detail = $"merge: {string.Join(", ", both)} changed on both sides; manual" };
        var winner = fallback.Outcome == "source" ? s : t;
        foreach (var name in both)
        {
            if (winner.TryGetPropertyValue(name, out var value)) merged[name] = value?.DeepClone();
        }
        return new ConflictDecision("merged", merged.ToJsonString(), false, $"merge: {string.Join(", ", both)} changed on both sides; {fallback.Outcome} by {SyncPair.PolicyName(pair.Fallback)}");
    }

    private static ConflictDecision Fallback(SyncPair pair, string? source, bool sourceDeleted, string? target, bool targetDeleted, string why)
    {
        var decision = Decide(pair with { Policy = pair.Fallback, EntityPolicies = new Dictionary<string, ConflictPolicy>() }, "", null, source, sourceDeleted, target, targetDeleted);
        return decision with { Detail = $"{why}; {decision.Detail}" };
    }
}
