namespace Lockstep.Events;

/// <summary>The types of the events the engine emits when a record version reached (or failed to reach) all its flows.</summary>
public static class CompletionTypes
{
    public const string SyncCompleted = "syncCompleted";
    public const string SyncFailed = "syncFailed";
    public const string Entity = "sync";
}
