namespace Lockstep.Notifications;

/// <summary>How an email channel secures its SMTP connection (<c>smtp.tls</c>): none, STARTTLS after connecting, or TLS from the start.</summary>
public enum SmtpSecurity
{
    None = 0,
    StartTls = 1,
    Tls = 2,
}
