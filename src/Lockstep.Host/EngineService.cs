using Lockstep.Engines;
using Microsoft.Extensions.Hosting;

namespace Lockstep.Host;

/// <summary>
/// Runs the engine for the host's lifetime; on shutdown in-flight requests get the host's shutdown timeout to finish.
/// Takes the metrics so they exist (and count) from the first delivery on.
/// </summary>
internal sealed class EngineService(LockstepEngine engine, Metrics.LockstepMetrics metrics) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        GC.KeepAlive(metrics);
        return engine.StartAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => engine.StopAsync(cancellationToken);
}
