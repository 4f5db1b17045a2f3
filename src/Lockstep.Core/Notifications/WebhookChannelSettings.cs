using Lockstep.Configuration;

namespace Lockstep.Notifications;

/// <summary>A <c>type: webhook</c> channel: where notices go, signed per Standard Webhooks with these secrets.</summary>
public sealed record WebhookChannelSettings(Uri Url, IReadOnlyList<Secret> Secrets);
