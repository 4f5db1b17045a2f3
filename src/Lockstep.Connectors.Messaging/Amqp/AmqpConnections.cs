using RabbitMQ.Client;

namespace Lockstep.Connectors.Messaging.Amqp;

/// <summary>Opens an AMQP connection from a URL (user, password and vhost included), named so operators can see it in the broker.</summary>
internal static class AmqpConnections
{
    public static Task<IConnection> OpenAsync(Uri url, string name, TimeSpan timeout, bool recover, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            Uri = url,
            ClientProvidedName = name,
            AutomaticRecoveryEnabled = recover,
            TopologyRecoveryEnabled = recover,
            NetworkRecoveryInterval = TimeSpan.FromSeconds(1),
            RequestedConnectionTimeout = timeout,
            ContinuationTimeout = timeout,
            HandshakeContinuationTimeout = timeout,
        };
        return factory.CreateConnectionAsync(cancellationToken);
    }
}
