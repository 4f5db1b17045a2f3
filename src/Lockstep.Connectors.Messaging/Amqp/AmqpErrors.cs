using System.Net.Sockets;
using RabbitMQ.Client.Exceptions;

namespace Lockstep.Connectors.Messaging.Amqp;

/// <summary>
/// Classifies AMQP failures: the broker refusing access (403), a missing exchange (404) or a mismatched declaration (406)
/// will not pass on retry; a lost connection, an unreachable broker or a forced close will.
/// </summary>
internal static class AmqpErrors
{
    public static bool IsPermanent(Exception e) => e switch
    {
        AuthenticationFailureException => true,
        BrokerUnreachableException { InnerException: AuthenticationFailureException } => true,
        OperationInterruptedException { ShutdownReason.ReplyCode: 403 or 404 or 406 } => true,
        _ => false,
    };

    public static bool IsExpected(Exception e) =>
        e is RabbitMQClientException or OperationInterruptedException or BrokerUnreachableException or SocketException or IOException or TimeoutException or PublishException;
}
