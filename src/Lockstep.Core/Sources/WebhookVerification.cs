using Lockstep.Configuration;

namespace Lockstep.Sources;

/// <summary>
/// How an inbound webhook proves it is genuine: Standard Webhooks (several <c>whsec_</c> secrets allowed, for rotation),
/// a plain HMAC header (<c>X-Signature: sha256=hex</c>), or explicitly nothing (<c>verify: none</c>, <see cref="Unsigned"/>).
/// </summary>
public sealed record WebhookVerification(IReadOnlyList<Secret> StandardWebhooks, string? HmacHeader, IReadOnlyList<Secret> HmacSecrets, TimeSpan Tolerance)
{
    /// <summary>Accepts unsigned pushes: only an explicit <c>verify: none</c> gives this; no secrets alone never does.</summary>
    public static WebhookVerification Unsigned { get; } = new([], null, [], TimeSpan.Zero) { None = true };

    public bool None { get; private init; }
}
