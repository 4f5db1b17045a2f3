using Lockstep.Configuration;

namespace Lockstep.Connectors.Messaging.Topics;

/// <summary>Reads a broker URL (<c>nats://</c>, <c>amqp://</c>, <c>mqtt://</c>): the scheme is checked and any user info is a secret.</summary>
internal static class BrokerUrl
{
    public static Uri? Read(ConfigSection section, string key, params string[] schemes)
    {
        var text = section.String(key, required: true);
        if (text is null) return null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || !schemes.Contains(url.Scheme) || url.Host.Length == 0)
        {
            // The value may hold a password: it is never echoed.
            section.Error(key, $"must be a {string.Join(" or ", schemes.Select(s => s + "://"))} URL with a host (e.g. {schemes[0]}://127.0.0.1:{DefaultPort(schemes[0])})");
            return null;
        }
        if (url.UserInfo.Length > 0)
        {
            section.Context.Secrets.Add(text, always: true);
            section.Context.Secrets.Add(url.UserInfo, always: true);
            if (Password(url) is { Length: > 0 } password) section.Context.Secrets.Add(password, always: true);
        }
        return url;
    }

    public static string? User(Uri url) => url.UserInfo.Length == 0 ? null : Uri.UnescapeDataString(url.UserInfo.Split(':', 2)[0]);

    public static string? Password(Uri url) =>
        url.UserInfo.Split(':', 2) is [_, var password] ? Uri.UnescapeDataString(password) : null;

    /// <summary>The URL as it may be shown: no user info.</summary>
    public static string Shown(Uri url) => new UriBuilder(url) { UserName = "", Password = "" }.Uri.ToString().TrimEnd('/');

    private static int DefaultPort(string scheme) => scheme switch
    {
        "nats" => 4222,
        "amqp" => 5672,
        "amqps" => 5671,
        _ => 1883,
    };
}
