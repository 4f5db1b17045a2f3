using Microsoft.Extensions.Logging;

namespace Lockstep.Notifications;

/// <summary>
/// Gathers what admins must hear about (dead letters, circuit changes, reconciliation drift, failing sources) per
/// channel and system, and sends one notice per channel per window. A notice that cannot be sent is kept and merged
/// into the next window's. Texts arriving here are already redacted.
/// </summary>
internal sealed partial class NoticeBoard(IReadOnlyList<(NotifyChannel Channel, INotifier Notifier)> channels, TimeProvider time, ILogger logger) : IAsyncDisposable
{
    private const int SamplesPerSystem = 5;
    private readonly Dictionary<string, Pending> _pending = channels.ToDictionary(c => c.Channel.Name, _ => new Pending());

    /// <param name="amount">How many records the news is about; a drift is posted only to channels whose threshold it exceeds.</param>
    public void Post(NoticeKind kind, string system, string what, string sample, long amount = 1)
    {
        foreach (var (channel, _) in channels)
        {
            if (!channel.On.Contains(kind) || (kind == NoticeKind.Drift && amount <= channel.DriftAbove)) continue;
            var pending = _pending[channel.Name];
            lock (pending)
            {
                pending.From ??= time.GetUtcNow();
                if (!pending.Systems.TryGetValue(system, out var group)) pending.Systems[system] = group = (new Dictionary<string, long>(), new List<string>());
                group.Counts[what] = group.Counts.GetValueOrDefault(what) + 1;
                if (group.Samples.Count < SamplesPerSystem) group.Samples.Add(sample);
            }
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var loops = channels.Select(c => RunChannelAsync(c.Channel, c.Notifier, cancellationToken)).ToList();
        await Task.WhenAll(loops).ConfigureAwait(false);
    }

    private async Task RunChannelAsync(NotifyChannel channel, INotifier notifier, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(channel.Window, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            await FlushAsync(channel, notifier, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends what gathered on the channel, if anything; kept for the next window when sending fails.</summary>
    public async Task FlushAsync(NotifyChannel channel, INotifier notifier, CancellationToken cancellationToken)
    {
        var pending = _pending[channel.Name];
        Notice notice;
        lock (pending)
        {
            if (pending.From is not { } from) return;
            notice = new Notice(channel.Name, from, time.GetUtcNow(), pending.Systems.ToDictionary(
                s => s.Key, s => new NoticeGroup(new Dictionary<string, long>(s.Value.Counts), [.. s.Value.Samples]), StringComparer.Ordinal));
            pending.From = null;
            pending.Systems.Clear();
        }
        bool sent;
        try
        {
            sent = await notifier.SendAsync(notice, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            sent = false;
        }
        if (sent) return;
        NoticeFailed(logger, channel.Name);
        lock (pending)
        {
            pending.From = pending.From is { } later && later < notice.From ? later : notice.From;
            foreach (var (system, group) in notice.Systems)
            {
                if (!pending.Systems.TryGetValue(system, out var kept)) pending.Systems[system] = kept = (new Dictionary<string, long>(), new List<string>());
                foreach (var (what, count) in group.Counts) kept.Counts[what] = kept.Counts.GetValueOrDefault(what) + count;
                foreach (var sample in group.Samples.Where(_ => kept.Samples.Count < SamplesPerSystem)) kept.Samples.Add(sample);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (_, notifier) in channels) await notifier.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class Pending
    {
        public DateTimeOffset? From { get; set; }

        public Dictionary<string, (Dictionary<string, long> Counts, List<string> Samples)> Systems { get; } = new(StringComparer.Ordinal);
    }

    [LoggerMessage(4001, LogLevel.Warning, "Notice on channel {Channel} could not be sent; it is kept for the next window")]
    private static partial void NoticeFailed(ILogger logger, string channel);
}
