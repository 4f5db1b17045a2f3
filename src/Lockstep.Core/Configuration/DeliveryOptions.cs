namespace Lockstep.Configuration;

/// <summary>Engine-wide delivery settings (YAML section <c>delivery</c>).</summary>
public sealed record DeliveryOptions(int BatchSize, bool CompletionEvents)
{
    public static DeliveryOptions Default { get; } = new(256, true);
}
