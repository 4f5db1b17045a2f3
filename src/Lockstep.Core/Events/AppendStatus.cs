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
}
