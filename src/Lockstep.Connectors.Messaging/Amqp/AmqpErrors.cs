using System.Net.Sockets;
using RabbitMQ.Client.Exceptions;

namespace Lockstep.Connectors.Messaging.Amqp;

/// <summary>
/// Classifies AMQP failures: a refused login, the broker refusing access (403), a missing exchange (404), a mismatched
/// declaration (406) or a virtual host that does not exist (530) will not pass on retry; a lost connection, an
/// unreachable broker or a forced close will.
/// </summary>
internal static class AmqpErrors
{
    public static bool IsPermanent(Exception e)
    {
        // The client wraps what the broker said (a failed connection open holds the refusal inside).
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is AuthenticationFailureException or OperationInterruptedException { ShutdownReason.ReplyCode: 403 or 404 or 406 or 530 }) return true;
        }
        return false;
    }

    public static bool IsExpected(Exception e) =>
        e is RabbitMQClientException or OperationInterruptedException or BrokerUnreachableException or SocketException or IOException or TimeoutException or PublishException;
}
