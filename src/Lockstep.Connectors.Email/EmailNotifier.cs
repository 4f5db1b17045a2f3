using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Lockstep.Connectors;
using Lockstep.Notifications;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace Lockstep.Connectors.Email;

/// <summary>
/// Sends a notice as one plain-text mail over SMTP (MailKit): the subject sums it up, the body lists each system's
/// counts and samples. The Message-ID is the channel and window start, so a resent notice is recognisable.
/// A connection per notice: notices are rare (one per window), and an idle SMTP session would be dropped anyway.
/// </summary>
public sealed partial class EmailNotifier(EmailChannelSettings settings, ConnectorContext context) : INotifier
{
    private readonly ILogger _logger = context.Logging.CreateLogger("Lockstep.Notifications");

    public async ValueTask<bool> SendAsync(Notice notice, CancellationToken cancellationToken)
    {
        using var message = Compose(notice);
        using var client = new SmtpClient { Timeout = 30_000 };
        try
        {
            var security = settings.Security switch
            {
                SmtpSecurity.Tls => SecureSocketOptions.SslOnConnect,
                SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
                _ => SecureSocketOptions.None,
            };
            await client.ConnectAsync(settings.Host, settings.Port, security, cancellationToken).ConfigureAwait(false);
            if (settings.User is { } user) await client.AuthenticateAsync(user, settings.Password?.Reveal() ?? "", cancellationToken).ConfigureAwait(false);
            await client.SendAsync(message, cancellationToken).ConfigureAwait(false);
            await client.DisconnectAsync(quit: true, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or ProtocolException or CommandException or AuthenticationException
                                       or SslHandshakeException or TimeoutException or ServiceNotConnectedException)
        {
            // The server's reply may quote what it was sent: redacted before it is logged.
            SendFailed(_logger, notice.Channel, settings.Host, settings.Port, e.GetType().Name, context.Secrets.Redact(ErrorChain.Of(e)) ?? "");
            return false;
        }
    }

    internal MimeMessage Compose(Notice notice)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(settings.From));
        foreach (var to in settings.To) message.To.Add(MailboxAddress.Parse(to));
        message.MessageId = $"notice.{notice.Channel}.{notice.From.ToUnixTimeMilliseconds()}@lockstep";
        message.Date = notice.To;
        var summary = string.Join("; ", notice.Systems.Select(s => $"{s.Key}: " + string.Join(", ", s.Value.Counts.Select(c => $"{c.Value} {c.Key}"))));
        message.Subject = context.Secrets.Redact(Truncate($"Lockstep ({notice.Channel}): {summary}", 200)) ?? "";
        var body = new StringBuilder();
        body.Append(CultureInfo.InvariantCulture, $"Lockstep notice on channel {notice.Channel}, {notice.From:O} to {notice.To:O}.\n");
        foreach (var (system, group) in notice.Systems)
        {
            body.Append(CultureInfo.InvariantCulture, $"\n{system}\n");
            foreach (var (what, count) in group.Counts) body.Append(CultureInfo.InvariantCulture, $"  {what}: {count}\n");
            if (group.Samples.Count > 0) body.Append("  for example:\n");
            foreach (var sample in group.Samples) body.Append(CultureInfo.InvariantCulture, $"    - {sample}\n");
        }
        message.Body = new TextPart("plain") { Text = context.Secrets.Redact(body.ToString()) ?? "" };
        return message;
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [LoggerMessage(4002, LogLevel.Warning, "Email notice on channel {Channel} could not be sent through {Host}:{Port}: {Error}: {Reason}")]
    private static partial void SendFailed(ILogger logger, string channel, string host, int port, string error, string reason);
}
