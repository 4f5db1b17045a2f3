namespace Lockstep.Configuration;

/// <summary>
/// Engine-wide delivery settings (YAML section <c>delivery</c>). <see cref="CompletionEvents"/>: true or false as configured;
/// null (the default) means only when a flow is routed <c>syncCompleted</c> or <c>syncFailed</c> — nobody listening, no
/// completion work at all.
/// </summary>
public sealed record DeliveryOptions(int BatchSize, bool? CompletionEvents)
{
    public static DeliveryOptions Default { get; } = new(256, null);
}
