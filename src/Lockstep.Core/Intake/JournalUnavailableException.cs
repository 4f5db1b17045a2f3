namespace Lockstep.Intake;

/// <summary>
/// The journal could not commit (its disk is full or read-only, or it failed otherwise): nothing of the publish was
/// stored, and the caller should retry after <see cref="RetryAfter"/>. The HTTP API answers 503 with Retry-After.
/// </summary>
public sealed class JournalUnavailableException : Exception
{
    public JournalUnavailableException()
        : this("the journal cannot commit right now", TimeSpan.FromSeconds(5), null)
    {
    }

    public JournalUnavailableException(string message)
        : this(message, TimeSpan.FromSeconds(5), null)
    {
    }

    public JournalUnavailableException(string message, Exception innerException)
        : this(message, TimeSpan.FromSeconds(5), innerException)
    {
    }

    public JournalUnavailableException(string message, TimeSpan retryAfter, Exception? innerException)
        : base(message, innerException)
    {
        RetryAfter = retryAfter;
    }

    public TimeSpan RetryAfter { get; }
}
