using Lockstep.Configuration;
using Lockstep.Connectors.Messaging.Topics;
using Lockstep.Sources;

namespace Lockstep.Connectors.Messaging.Nats;

/// <summary>
/// <c>type: nats</c>: NATS JetStream. As a target each record version is one message on a templated subject, deduplicated
/// by the server on <c>Nats-Msg-Id</c>; as a source, a durable pull consumer acknowledged after the journal commit.
/// </summary>
public sealed class NatsConnectorFactory : IConnectorFactory
{
    private static readonly Func<string, string> CleanToken = TopicTemplate.Replacing(".*>");

    public string Type => "nats";

    public IReadOnlyCollection<string> SystemKeys { get; } = ["url", "stream", "subjects", "duplicateWindow"];

    public IReadOnlyCollection<string> FlowKeys { get; } = ["subject"];

    public IReadOnlyCollection<string> SubscriptionKeys { get; } = ["subject", "stream", "durable", "prefetch", "ackWait"];

    public object? BindSystem(ConfigSection system)
    {
        var url = BrokerUrl.Read(system, "url", "nats", "tls");
        var stream = system.String("stream");
        var subjects = system.StringList("subjects");
        var window = system.Duration("duplicateWindow", TimeSpan.FromSeconds(1), TimeSpan.FromDays(7)) ?? TimeSpan.FromMinutes(2);
        if (stream is not null && !ValidName(stream)) system.Error("stream", $"'{stream}' is not a stream name (letters, digits, '-' and '_')");
        if (stream is not null && subjects.Count == 0) system.Error("subjects", "is required with 'stream' (the subjects the stream holds, e.g. chat.>)");
        if (stream is null && subjects.Count > 0) system.Error("stream", "is required with 'subjects' (the stream to create or update)");
        return url is null ? null : new NatsSystemOptions(url, stream, subjects, window);
    }

    public object? BindFlow(ConfigSection flow, SystemDefinition system)
    {
        var subject = TopicTemplate.Read(flow, "subject", CleanToken);
        if (subject is not null && (subject.ToString().Contains('*', StringComparison.Ordinal) || subject.ToString().Contains('>', StringComparison.Ordinal)
            || subject.ToString().Any(char.IsWhiteSpace)))
        {
            flow.Error("subject", "must not contain wildcards (*, >) or spaces: a message is published to one subject");
            return null;
        }
        return subject is null ? null : new NatsFlowOptions(subject);
    }

    public object? BindSubscription(ConfigSection source, SystemDefinition system)
    {
        var subject = source.String("subject", required: true);
        var stream = source.String("stream") ?? (system.Settings as NatsSystemOptions)?.Stream;
        if (stream is null) source.Error("stream", "is required (or give the system a 'stream')");
        else if (!ValidName(stream)) source.Error("stream", $"'{stream}' is not a stream name (letters, digits, '-' and '_')");
        var durable = source.String("durable") ?? "lockstep-" + source.Path.Split('.')[^1];
        if (!ValidName(durable)) source.Error("durable", $"'{durable}' is not a consumer name (letters, digits, '-' and '_')");
        var prefetch = source.Int("prefetch", 1, 10_000) ?? 64;
        var ackWait = source.Duration("ackWait", TimeSpan.FromSeconds(1), TimeSpan.FromHours(12)) ?? TimeSpan.FromSeconds(30);
        return subject is null || stream is null || !ValidName(stream) || !ValidName(durable) ? null : new NatsSubscriptionOptions(stream, subject, durable, prefetch, ackWait);
    }

    public IConnector Create(SystemDefinition system, ConnectorContext context) =>
        new NatsConnector((NatsSystemOptions)system.Settings!, system, context);

    public ISubscription CreateSubscription(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        new NatsSubscription((NatsSubscriptionOptions)source.Settings!, (NatsSystemOptions)system.Settings!, system);

    public ISource CreateSource(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        throw new NotSupportedException("a nats system is read by a subscription source (type: nats), not polled");

    public string? CannotReconcile(FlowDefinition flow) => "a nats target cannot be read back, so it cannot be reconciled";

    private static bool ValidName(string name) => name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
