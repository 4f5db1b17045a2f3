using System.Text.Json;
using Lockstep.Events;
using Lockstep.Records;

namespace Lockstep.Deliveries;

/// <summary>An event whose completion is tracked, as the journal holds it: its flows, and whether a syncFailed went out already.</summary>
public sealed record TrackedEvent(long Seq, string Id, string Type, long Version, IReadOnlyList<string> Flows, bool Failed);

/// <summary>A completion to record: the tracked event is settled (completed, or failed) and <see cref="Emitted"/> is appended.</summary>
public sealed record CompletionDecision(TrackedEvent Tracked, bool Completed, Event Emitted);

/// <summary>
/// When a published event is complete (<c>delivery.completionEvents</c>): <c>syncCompleted</c> once every flow it was routed
/// to holds its version or a newer one; <c>syncFailed</c> once, when one of its flows dead-letters it (a later delivery of
/// a newer version still completes it). Decided here; the journal loads a record's tracked events and stores the outcome.
/// </summary>
public static class CompletionRules
{
    /// <param name="open">The record's tracked events not yet completed, oldest first.</param>
    /// <param name="deliveredVersion">The newest version of the record a flow holds, or null.</param>
    /// <param name="dead">The flow, version and error of a dead letter being committed now, if this outcome is one.</param>
    public static List<CompletionDecision> Decide(
        string entity, string key, IReadOnlyList<TrackedEvent> open, Func<string, long?> deliveredVersion, (string Flow, long Version, string? Error)? dead)
    {
        var decisions = new List<CompletionDecision>();
        foreach (var tracked in open)
        {
            if (tracked.Flows.All(flow => deliveredVersion(flow) is { } delivered && delivered >= tracked.Version))
                decisions.Add(new CompletionDecision(tracked, true, Emit(CompletionTypes.SyncCompleted, tracked, entity, key, null, null)));
            else if (!tracked.Failed && dead is { } d && tracked.Version <= d.Version && tracked.Flows.Contains(d.Flow))
                decisions.Add(new CompletionDecision(tracked, false, Emit(CompletionTypes.SyncFailed, tracked, entity, key, d.Flow, d.Error)));
        }
        return decisions;
    }

    /// <summary>The completion event for a tracked event: entity <c>sync</c>, key <c>ENTITY:KEY</c> (each escaped as in derived ids), id <c>TYPE:EVENT_ID</c>.</summary>
    private static Event Emit(string type, TrackedEvent tracked, string entity, string key, string? flow, string? error)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("eventId", tracked.Id);
            json.WriteString("type", tracked.Type);
            json.WriteString("entity", entity);
            json.WriteString("key", key);
            json.WriteNumber("version", tracked.Version);
            json.WriteStartArray("flows");
            foreach (var f in tracked.Flows) json.WriteStringValue(f);
            json.WriteEndArray();
            if (flow is not null) json.WriteString("flow", flow);
            if (flow is not null) json.WriteString("error", error);
            json.WriteEndObject();
        }
        return new Event($"{type}:{tracked.Id}", type, CompletionTypes.Entity, $"{EventIds.Escape(entity)}:{EventIds.Escape(key)}", tracked.Version, RecordOp.Upsert,
            System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }
}
