namespace Lockstep.Notifications;

/// <summary>Delivers a notice over one channel (a signed webhook, later email). Returns false (not an exception) on failure.</summary>
public interface INotifier : IAsyncDisposable
{
    ValueTask<bool> SendAsync(Notice notice, CancellationToken cancellationToken);
}
