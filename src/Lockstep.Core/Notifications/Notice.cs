namespace Lockstep.Notifications;

/// <summary>
/// One message to admins: everything that happened on a channel's kinds during one window, grouped by system, with
/// counts and a few samples each, so an outage of 100,000 records is one message per window, not 100,000.
/// </summary>
public sealed record Notice(string Channel, DateTimeOffset From, DateTimeOffset To, IReadOnlyDictionary<string, NoticeGroup> Systems);

/// <summary>What one system did during the window.</summary>
public sealed record NoticeGroup(IReadOnlyDictionary<string, long> Counts, IReadOnlyList<string> Samples);
