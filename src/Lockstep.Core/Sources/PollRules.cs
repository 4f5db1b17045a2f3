using Lockstep.Conflicts;
using Lockstep.Events;
using Lockstep.Records;

namespace Lockstep.Sources;

/// <summary>What the journal holds of one event a source reported: its version, operation and (opened) data.</summary>
public readonly record struct SourceReport(long Version, RecordOp Op, string? Data);

/// <summary>A polled item's fate: <see cref="Append"/> is null for a re-read; otherwise it is stored as given.</summary>
/// <param name="Reordered">Its version was behind: it takes the record's next one (reported as reordered if accepted).</param>
public readonly record struct PollDecision(Event? Append, bool Reordered);

/// <summary>
/// A polled item is its source's current state of the record, and the source is the system of record. The same version
/// with the same content as a report already seen is a re-read (an overlap, a change log read again). Content that
/// differs from the source's last report of the record is a change even when its version is not newer (a transaction
/// that committed late with an earlier <c>updatedAt</c>, a clock stepped back): it takes the record's next version.
/// Decided here; a backend supplies the reports it holds and stores the event.
/// </summary>
public static class PollRules
{
    /// <param name="stored">The event stored under an id, or null.</param>
    /// <param name="last">The newest event this source reported for the record, whatever the journal did with it.</param>
    /// <param name="head">The record's newest version, or null for a new record.</param>
    public static PollDecision Decide(Event e, Func<string, SourceReport?> stored, SourceReport? last, Func<long?> head)
    {
        var existing = e.Id.Length > 0 ? stored(e.Id) : null;
        // Without a version an item's id is its content hash: only the last report tells a re-read from a return to it.
        if (e.Version is not null && existing is { } seen && SameContent(e, seen)) return default;
        if (last is not { } previous) return new PollDecision(e, false);
        if (SameContent(e, previous))
            return e.Version is { } ahead && ahead > previous.Version && existing is null ? new PollDecision(e, false) : default;

        var current = head();
        var behind = e.Version is { } reported && (reported <= previous.Version || reported <= current);
        if (!behind && existing is null) return new PollDecision(e, false);
        var id = e.Id;
        for (var n = 2; existing is not null; n++)
        {
            id = $"{e.Id}~{n}";
            existing = stored(id);
        }
        // Stored under an id of its own; without a version the journal gives it the record's next one.
        return new PollDecision(e with { Id = id, Version = behind ? null : e.Version }, behind);
    }

    public static bool SameContent(Event e, SourceReport report)
    {
        if (e.Op != report.Op) return false;
        if (e.Op == RecordOp.Delete || e.Data == report.Data) return true;
        if (e.Data is null || report.Data is null) return false;
        try
        {
            return RecordJson.Hash(e.Data) == RecordJson.Hash(report.Data);
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }
}
