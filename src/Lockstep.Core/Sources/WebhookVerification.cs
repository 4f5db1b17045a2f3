using Lockstep.Configuration;

namespace Lockstep.Sources;

/// <summary>
/// How an inbound webhook proves it is genuine: Standard Webhooks (several <c>whsec_</c> secrets allowed, for rotation),
/// a plain HMAC header (<c>X-Signature: sha256=hex</c>), or explicitly nothing (<c>verify: none</c>).
/// </summary>
public sealed record WebhookVerification(IReadOnlyList<Secret> StandardWebhooks, string? HmacHeader, IReadOnlyList<Secret> HmacSecrets, TimeSpan Tolerance)
{
    public bool None => StandardWebhooks.Count == 0 && HmacSecrets.Count == 0;
}
