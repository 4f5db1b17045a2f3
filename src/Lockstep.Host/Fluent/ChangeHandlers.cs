using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Deliveries;
using Lockstep.Records;
using Lockstep.Sources;

namespace Lockstep.Host.Fluent;

/// <summary>
/// <c>OnChange</c> handlers as a system: each change reaches the handler through the journal and the delivery loop like any
/// delivery (durable, in order per record, retried with backoff when the handler throws, dead-lettered after the flow's
/// attempts), so an in-process handler gets the same guarantees as a remote API. Only the builder creates these systems.
/// </summary>
internal sealed class ChangeHandlers : IConnectorFactory
{
    public const string TypeName = "dotnet-handler";

    private readonly Dictionary<string, Func<Change, CancellationToken, Task>> _handlers = new(StringComparer.Ordinal);

    public string Type => TypeName;

    public IReadOnlyCollection<string> SystemKeys { get; } = ["handler"];

    public IReadOnlyCollection<string> FlowKeys { get; } = [];

    public void Add(string name, Func<Change, CancellationToken, Task> handler) => _handlers.Add(name, handler);

    public object? BindSystem(ConfigSection system)
    {
        var name = system.String("handler", required: true);
        if (name is not null && !_handlers.ContainsKey(name)) system.Error("handler", $"no handler named '{name}' was registered");
        return name;
    }

    public object? BindFlow(ConfigSection flow, SystemDefinition system) => null;

    public IConnector Create(SystemDefinition system, ConnectorContext context) => new HandlerConnector(_handlers[(string)system.Settings!], context);

    public ISource CreateSource(SourceDefinition source, SystemDefinition system, ConnectorContext context) =>
        throw new NotSupportedException("a change handler cannot be polled");

    public string? CannotReconcile(FlowDefinition flow) => "a change handler cannot be read back, so it cannot be reconciled";

    private sealed class HandlerConnector(Func<Change, CancellationToken, Task> handler, ConnectorContext context) : IConnector
    {
        public async ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
        {
            System.Text.Json.JsonElement? data = null;
            if (delivery.Op != RecordOp.Delete && !body.IsEmpty)
            {
                using var document = System.Text.Json.JsonDocument.Parse(body);
                data = document.RootElement.Clone();
            }
            try
            {
                await handler(new Change(delivery.Entity, delivery.Key, delivery.Version, delivery.Op == RecordOp.Delete, data, delivery.IdempotencyKey), cancellationToken)
                    .ConfigureAwait(false);
                return ConnectorResult.Success();
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The handler's failure is retried like a remote system's 503: durably, with backoff.
                return ConnectorResult.Transient(context.Secrets.Redact($"the handler failed: {e.GetType().Name}: {e.Message}") ?? "the handler failed");
            }
        }

        public ValueTask<TargetRead> ReadAsync(Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TargetRead.Failed("a change handler cannot be read back"));

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
