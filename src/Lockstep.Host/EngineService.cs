using Lockstep.Engines;
using Microsoft.Extensions.Hosting;

namespace Lockstep.Host;

/// <summary>Runs the engine for the host's lifetime; on shutdown in-flight requests get the host's shutdown timeout to finish.</summary>
internal sealed class EngineService(LockstepEngine engine) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => engine.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => engine.StopAsync(cancellationToken);
}
