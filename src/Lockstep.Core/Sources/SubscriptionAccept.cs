namespace Lockstep.Sources;

/// <summary>What became of one received message. Every outcome is final, so the consumer acknowledges it.</summary>
public enum SubscriptionAccept
{
    /// <summary>Committed as a new event.</summary>
    Accepted = 0,
    /// <summary>Already journaled (a redelivery): nothing new.</summary>
    Duplicate = 1,
    /// <summary>Could not be mapped (not JSON, no key...): counted, logged and dropped, since a redelivery would fail the same way.</summary>
    Rejected = 2,
}
