using Lockstep.Connectors.Messaging.Topics;
using MQTTnet;
using MQTTnet.Formatter;

namespace Lockstep.Connectors.Messaging.Mqtt;

/// <summary>Builds MQTT 5 connection options from a broker URL (user and password from its user info).</summary>
internal static class MqttClients
{
    public static MqttClientOptions Options(Uri url, string clientId, TimeSpan timeout, bool cleanStart, TimeSpan sessionExpiry)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(url.Host, url.IsDefaultPort || url.Port < 0 ? (url.Scheme == "mqtts" ? 8883 : 1883) : url.Port)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(cleanStart)
            .WithSessionExpiryInterval((uint)sessionExpiry.TotalSeconds)
            .WithTimeout(timeout);
        if (BrokerUrl.User(url) is { } user) builder = builder.WithCredentials(user, BrokerUrl.Password(url));
        if (url.Scheme == "mqtts") builder = builder.WithTlsOptions(o => o.UseTls());
        return builder.Build();
    }
}
