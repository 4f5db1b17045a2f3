using Microsoft.Extensions.Logging;

namespace Lockstep.Status;

/// <summary>What writes to the journal, each reporting its failures and successes to <see cref="JournalHealth"/>.</summary>
internal enum JournalWriter
{
    Intake = 0,
    Outcomes = 1,
    Claims = 2,
}

/// <summary>
/// Tracks whether the journal takes writes: unwritable from a writer's first failure until that writer (or the write
/// check, for intake) succeeds again. Errors arriving here are already redacted.
/// </summary>
internal sealed partial class JournalHealth(TimeProvider time, ILogger? logger = null)
{
    private static readonly string[] Names = ["intake", "outcomes", "claims"];
    private readonly Lock _gate = new();
    private readonly bool[] _failing = new bool[Names.Length];
    private int _failingCount;
    private DateTimeOffset? _since;
    private string? _lastError;
    private long _failedWrites;

    /// <summary>Raised when the journal becomes unwritable (false, with the error) or writable again (true).</summary>
    public event Action<bool, string?>? Changed;

    /// <summary>Raised when a writer starts failing (for intake: start checking when the journal takes writes again).</summary>
    public event Action<JournalWriter>? WriterFailed;

    public bool Writable => Volatile.Read(ref _failingCount) == 0;

    public bool Failing(JournalWriter writer)
    {
        lock (_gate) return _failing[(int)writer];
    }

    public void Failed(JournalWriter writer, string error)
    {
        bool became;
        lock (_gate)
        {
            _failedWrites++;
            _lastError = error;
            if (_failing[(int)writer]) return;
            _failing[(int)writer] = true;
            became = _failingCount == 0;
            if (became) _since = time.GetUtcNow();
            Volatile.Write(ref _failingCount, _failingCount + 1);
        }
        if (became && logger is not null) LogUnwritable(logger, error);
        WriterFailed?.Invoke(writer);
        if (became) Changed?.Invoke(false, error);
    }

    public void Succeeded(JournalWriter writer)
    {
        if (Volatile.Read(ref _failingCount) == 0) return;
        bool recovered;
        lock (_gate)
        {
            if (!_failing[(int)writer]) return;
            _failing[(int)writer] = false;
            Volatile.Write(ref _failingCount, _failingCount - 1);
            recovered = _failingCount == 0;
            if (recovered) _since = null;
        }
        if (recovered && logger is not null) LogWritable(logger);
        if (recovered) Changed?.Invoke(true, null);
    }

    public JournalStatus Status(long uncommittedOutcomes)
    {
        lock (_gate)
        {
            var failing = Names.Where((_, i) => _failing[i]).ToArray();
            return new JournalStatus(failing.Length == 0 ? JournalStatus.Ok : JournalStatus.Unwritable, failing, _since,
                failing.Length == 0 ? null : _lastError, uncommittedOutcomes, _failedWrites);
        }
    }

    [LoggerMessage(5001, LogLevel.Error, "The journal cannot be written ({Error}): publishing answers 503 and outcomes wait in memory until it can")]
    private static partial void LogUnwritable(ILogger logger, string error);

    [LoggerMessage(5002, LogLevel.Information, "The journal can be written again")]
    private static partial void LogWritable(ILogger logger);
}
