using Lockstep.Configuration;

namespace Lockstep.Connectors.Http.Webhooks;

/// <summary>A subscriber: its URL, the <c>whsec_</c> secrets to sign with (all of them, during a rotation), extra headers.</summary>
internal sealed record WebhookOptions(Uri Url, IReadOnlyList<Secret> Secrets, IReadOnlyDictionary<string, string> Headers);
