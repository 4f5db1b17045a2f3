using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Lockstep.Deliveries;
using Lockstep.Engines;
using Lockstep.Host.Api;

namespace Lockstep.Host.Dashboard;

/// <summary>
/// <c>GET /api/stream</c>: server-sent events for the dashboard. A <c>status</c> event carries the same snapshot as
/// <c>GET /api/status</c> whenever it changes, a <c>tick</c> event the deliveries and dead letters committed since the
/// last one. Each stream wakes on committed outcomes and otherwise once a second (lag grows, circuits half-open with no
/// event), and sends at most four times a second however busy the engine is.
/// </summary>
internal sealed class StatusFeed
{
    private static readonly TimeSpan MinGap = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxQuiet = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);
    private readonly LockstepEngine _engine;
    private readonly TimeProvider _time;
    private readonly CancellationToken _stopping;
    private long _delivered;
    private long _dead;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StatusFeed(LockstepEngine engine, TimeProvider time, Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime)
    {
        _engine = engine;
        _time = time;
        // Streams never end by themselves: they end on shutdown, or the host would wait its whole timeout for them.
        _stopping = lifetime.ApplicationStopping;
        engine.Delivered += OnDelivered;
    }

    private void OnDelivered(IReadOnlyList<DeliveryCompletion> batch)
    {
        Interlocked.Add(ref _delivered, batch.Count(c => c.Kind == CompletionKind.Delivered));
        Interlocked.Add(ref _dead, batch.Count(c => c.Kind == CompletionKind.Dead));
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    public async IAsyncEnumerable<SseItem<string>> StreamAsync([EnumeratorCancellation] CancellationToken requestAborted)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, _stopping);
        var cancellationToken = linked.Token;
        string? lastStatus = null;
        var (delivered, dead) = (Interlocked.Read(ref _delivered), Interlocked.Read(ref _dead));
        var lastSent = _time.GetTimestamp();
        // Tells the browser how soon to reconnect after a dropped connection.
        yield return new SseItem<string>("{}", "hello") { ReconnectionInterval = TimeSpan.FromSeconds(2) };
        while (!cancellationToken.IsCancellationRequested)
        {
            // Taken before the snapshot, so a commit during the query wakes the next round.
            var changed = Volatile.Read(ref _changed).Task;
            var status = JsonSerializer.Serialize(await _engine.StatusAsync(cancellationToken), ApiJson.Options);
            if (status != lastStatus)
            {
                lastStatus = status;
                lastSent = _time.GetTimestamp();
                yield return new SseItem<string>(status, "status");
            }
            var (nowDelivered, nowDead) = (Interlocked.Read(ref _delivered), Interlocked.Read(ref _dead));
            if (nowDelivered != delivered || nowDead != dead)
            {
                lastSent = _time.GetTimestamp();
                yield return new SseItem<string>($"{{\"delivered\":{nowDelivered - delivered},\"dead\":{nowDead - dead}}}", "tick");
                (delivered, dead) = (nowDelivered, nowDead);
            }
            if (_time.GetElapsedTime(lastSent) >= KeepAlive)
            {
                // Proxies close connections that stay silent.
                lastSent = _time.GetTimestamp();
                yield return new SseItem<string>("{}", "ping");
            }
            if (!await WaitAsync(null, MinGap, cancellationToken)) yield break;
            if (!await WaitAsync(changed, MaxQuiet, cancellationToken)) yield break;
        }
    }

    /// <summary>Waits for <paramref name="changed"/> (or just waits, when null) at most <paramref name="limit"/>; false once the client has gone.</summary>
    private async Task<bool> WaitAsync(Task? changed, TimeSpan limit, CancellationToken cancellationToken)
    {
        try
        {
            if (changed is null) await Task.Delay(limit, _time, cancellationToken);
            else if (!changed.IsCompleted) await changed.WaitAsync(limit, _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Nothing committed: look again anyway.
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        return true;
    }
}
