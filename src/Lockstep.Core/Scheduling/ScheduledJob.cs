using Microsoft.Extensions.Logging;

namespace Lockstep.Scheduling;

/// <summary>
/// Runs a job on its <see cref="Schedule"/> (interval or cron, with jitter) and on demand; runs of one job never
/// overlap (a trigger during a run waits for it, then runs). Its last and next run are kept for status.
/// </summary>
internal sealed partial class ScheduledJob(string name, Schedule? schedule, Func<CancellationToken, Task<string>> run, TimeProvider time, ILogger logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private JobStatus _status = new(schedule?.ToString(), null, null, null);

    public string Name => name;

    public JobStatus Status => Volatile.Read(ref _status);

    /// <summary>Runs now and returns the job's own description of the outcome.</summary>
    public async Task<string> RunNowAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var startedAt = time.GetUtcNow();
        try
        {
            var outcome = await run(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _status, Status with { LastRunAt = startedAt, LastOutcome = outcome });
            return outcome;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            JobFailed(logger, name, e.GetType().Name);
            Volatile.Write(ref _status, Status with { LastRunAt = startedAt, LastOutcome = $"failed: {e.GetType().Name}" });
            return "failed";
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs on the schedule until cancelled; the first run is at once for intervals, at the next occurrence for cron.</summary>
    public async Task RunScheduleAsync(CancellationToken cancellationToken)
    {
        if (schedule is null) return;
        var next = schedule.Interval is null ? schedule.Next(time.GetUtcNow(), Random.Shared.NextDouble()) : time.GetUtcNow();
        Volatile.Write(ref _status, Status with { NextRunAt = next });
        while (!cancellationToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            if (now >= next)
            {
                try
                {
                    await RunNowAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                next = schedule.Next(time.GetUtcNow(), Random.Shared.NextDouble());
                Volatile.Write(ref _status, Status with { NextRunAt = next });
                continue;
            }
            var wait = next - now;
            if (wait > TimeSpan.FromHours(1)) wait = TimeSpan.FromHours(1);
            try
            {
                await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(3101, LogLevel.Error, "Scheduled job {Job} failed ({Error})")]
    private static partial void JobFailed(ILogger logger, string job, string error);
}

/// <summary>A scheduled job as status shows it.</summary>
public sealed record JobStatus(string? Schedule, DateTimeOffset? LastRunAt, DateTimeOffset? NextRunAt, string? LastOutcome);
