namespace Lockstep.Connectors;

/// <summary>
/// A connector that can test its system's connection without writing a record: reachable, authenticated, and the flows'
/// operations allowed as far as the system tells. <c>lockstep check SYSTEM</c> runs it.
/// </summary>
public interface ICheckableConnector
{
    /// <param name="flows">The flows that deliver to this system, with the connector's own flow settings.</param>
    /// <returns>Each step in order; a step that failed carries the underlying error in full (inner exceptions included).</returns>
    ValueTask<IReadOnlyList<CheckStep>> CheckAsync(IReadOnlyList<Configuration.FlowDefinition> flows, CancellationToken cancellationToken);
}
