using Cronos;

namespace Lockstep.Scheduling;

/// <summary>When a job runs: every <see cref="Interval"/>, or on a cron expression in a time zone; plus up to <see cref="Jitter"/> late.</summary>
public sealed record Schedule(TimeSpan? Interval, CronExpression? Cron, TimeZoneInfo TimeZone, TimeSpan Jitter, string Text)
{
    /// <summary>The next run after <paramref name="from"/>; <paramref name="sample"/> in [0, 1) spreads runs by the jitter.</summary>
    public DateTimeOffset Next(DateTimeOffset from, double sample)
    {
        var next = Interval is { } every ? from + every : Cron!.GetNextOccurrence(from, TimeZone) ?? DateTimeOffset.MaxValue;
        return next == DateTimeOffset.MaxValue ? next : next + (Jitter * sample);
    }

    public override string ToString() => Text;
}
