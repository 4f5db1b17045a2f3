using Npgsql;

namespace Lockstep.Storage.Postgres;

/// <summary>
/// New work wakes the delivery loop at once: a commit that routed deliveries sends a NOTIFY on <see cref="Channel"/>
/// (delivered only if it commits), and one dedicated connection LISTENs. It is the only session that holds state (the
/// LISTEN); when it breaks it reconnects with backoff and wakes the loop once, in case a notification was missed. The
/// wake is a hint: the loop still finds due work by its own polling of due times.
/// </summary>
public sealed partial class PostgresJournal
{
    private Task? _listener;
    private Action? _wake;

    public void WatchWork(Action wake)
    {
        _wake = wake;
        if (_source is not null) StartListening();
    }

    /// <summary>Once the journal is open and someone watches: the engine asks before it opens the journal.</summary>
    private void StartListening()
    {
        if (_wake is not { } wake || _listener is not null) return;
        _listener = Task.Run(() => ListenAsync(wake, _stopping.Token));
    }

    private async Task ListenAsync(Action wake, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(_location.ConnectionString)
        {
            Pooling = false,
            // A half-open connection (a dropped route, a dead server) is noticed by keepalives rather than never.
            KeepAlive = 10,
        };
        var backoff = TimeSpan.FromMilliseconds(200);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                connection.Notification += (_, _) => wake();
                await using (var listen = new NpgsqlCommand($"LISTEN \"{Channel}\"", connection))
                    await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromMilliseconds(200);
                wake();
                while (true) await connection.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
            {
                try
                {
                    await Task.Delay(backoff, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>Queued in the caller's transaction: sent when (and only if) it commits.</summary>
    private NpgsqlBatchCommand Notify()
    {
        var notify = new NpgsqlBatchCommand("SELECT pg_notify(@channel, '')");
        notify.Parameters.AddWithValue("channel", Channel);
        return notify;
    }

    private async Task NotifyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var notify = new NpgsqlCommand("SELECT pg_notify(@channel, '')", connection, transaction);
        notify.Parameters.AddWithValue("channel", Channel);
        await notify.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
