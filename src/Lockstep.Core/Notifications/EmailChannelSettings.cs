using Lockstep.Configuration;

namespace Lockstep.Notifications;

/// <summary>A <c>type: email</c> channel: the SMTP server (credentials as <see cref="Secret"/>s), the sender and the recipients.</summary>
public sealed record EmailChannelSettings(string Host, int Port, string? User, Secret? Password, SmtpSecurity Security, string From, IReadOnlyList<string> To);
