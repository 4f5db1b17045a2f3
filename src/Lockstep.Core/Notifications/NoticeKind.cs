namespace Lockstep.Notifications;

/// <summary>What admins can be told about (<c>notify.*.on</c>).</summary>
public enum NoticeKind
{
    Dead = 0,
    Circuit = 1,
    Drift = 2,
    Source = 3,
    /// <summary>A two-way conflict parked for an operator (policy <c>manual</c>, or a merge falling back to it).</summary>
    Conflict = 4,
    /// <summary>The journal cannot be written (disk full, read-only), and when it can again.</summary>
    Journal = 5,
}
