namespace Lockstep.Events;

/// <summary>What the journal did with one appended event.</summary>
public enum AppendStatus
{
    /// <summary>New and newest: stored and routed.</summary>
    Accepted = 0,
    /// <summary>Its id was seen before: not applied again.</summary>
    Duplicate = 1,
    /// <summary>Older than (or as old as) the newest known version of its record: stored, not routed.</summary>
    Stale = 2,
    /// <summary>A two-way pair's own write coming back, or no change at all: stored for inspection, not routed.</summary>
    Echo = 3,
    /// <summary>A two-way conflict: parked for an operator or overruled by the pair's policy; stored, not routed.</summary>
    Conflict = 4,
    /// <summary>
    /// A poll source's record with new content under a version not newer than the last one seen (a late commit, a clock
    /// stepped back): the source is the system of record, so it is stored and routed with the record's next version.
    /// </summary>
    Reordered = 5,
}
