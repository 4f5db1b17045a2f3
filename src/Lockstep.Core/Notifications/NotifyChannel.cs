namespace Lockstep.Notifications;

/// <summary>
/// A configured channel: what it is told about, and the window over which notices are gathered into one message.
/// <see cref="DriftAbove"/>: a reconciliation is reported only when it found more drifted records than this.
/// </summary>
public sealed record NotifyChannel(string Name, string Type, IReadOnlySet<NoticeKind> On, TimeSpan Window, object? Settings, long DriftAbove = 0);
