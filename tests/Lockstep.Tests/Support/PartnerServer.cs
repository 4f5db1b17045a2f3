using Lockstep.Host;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Lockstep.Tests.Support;

/// <summary>A real Kestrel server on 127.0.0.1, port 0, playing a partner system with the routes a test maps.</summary>
internal sealed class PartnerServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private PartnerServer(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    public static async Task<PartnerServer> StartAsync(Action<WebApplication> routes)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        routes(app);
        await app.StartAsync();
        return new PartnerServer(app, app.ListeningUrl());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
