namespace Lockstep.Sources;

/// <summary>What a full run of a poll source does with records it produced before that the source no longer returns.</summary>
public enum VanishedPolicy
{
    /// <summary>Nothing (the default): an absent record may only be outside the source's window.</summary>
    Ignore = 0,
    /// <summary><c>vanished: report</c>: counted in the source's status, nothing journaled.</summary>
    Report = 1,
    /// <summary><c>vanished: delete</c>: each becomes a delete event, journaled and delivered like any other change.</summary>
    Delete = 2,
}
