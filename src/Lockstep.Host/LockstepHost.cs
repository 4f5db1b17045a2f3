using Lockstep.Configuration;
using Lockstep.Host.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lockstep.Host;

/// <summary>Builds the web application that <c>lockstep run</c> serves: the engine plus its HTTP API on one listener.</summary>
public static class LockstepHost
{
    public const string DefaultUrls = "http://127.0.0.1:7070";

    /// <summary>Where the listener binds when <c>server.tls</c> is set and <c>server.urls</c> is not.</summary>
    public const string DefaultHttpsUrls = "https://127.0.0.1:7070";

    /// <summary>The rate-limit policy on publish and webhook endpoints (when <c>server.intakeRateLimit</c> is set).</summary>
    internal const string IntakePolicy = "intake";

    /// <summary>The address a started application listens on (the real port when it was asked for port 0).</summary>
    public static string ListeningUrl(this WebApplication app) =>
        app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();

    public static WebApplication Build(LockstepConfig config, string? urls, Action<IServiceCollection>? configure = null, LogLevel engineLogLevel = LogLevel.Information, bool jsonLogs = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(urls ?? config.Server.Urls ?? (config.Server.Tls is null ? DefaultUrls : DefaultHttpsUrls));
        // Loaded once at start: a certificate that cannot be read stops the start with the reason.
        var certificate = config.Server.Tls is { } tls ? Security.ListenerCertificate.Load(tls) : null;
        if (certificate is not null) builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = Math.Max(config.Server.MaxBodyBytes, 1024 * 1024);
            if (certificate is not null) k.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate);
        });
        builder.Logging.ClearProviders();
        if (jsonLogs) builder.Logging.AddJsonConsole(o => { o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fffK"; o.UseUtcTimestamp = true; });
        else builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", engineLogLevel);
        builder.Logging.AddFilter("Lockstep", engineLogLevel);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));
        builder.Services.AddLockstep(config);
        builder.Services.AddSingleton<Dashboard.StatusFeed>();
        builder.Services.AddLockstepOpenApi(config);
        builder.Services.AddLockstepProblemDetails();
        if (config.Server.IntakeRequestsPerSecond is { } perSecond)
        {
            builder.Services.AddRateLimiter(o =>
            {
                // Per client address: one noisy publisher cannot starve the others.
                o.AddPolicy(IntakePolicy, context => System.Threading.RateLimiting.RateLimitPartition.GetTokenBucketLimiter(
                    context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new System.Threading.RateLimiting.TokenBucketRateLimiterOptions
                    {
                        TokenLimit = config.Server.IntakeBurst,
                        TokensPerPeriod = perSecond,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    }));
                o.OnRejected = async (rejected, ct) =>
                {
                    rejected.HttpContext.Response.Headers.RetryAfter = "1";
                    await Problems.Of(429, "Too many requests", $"more than {perSecond} intake requests per second (burst {config.Server.IntakeBurst}) from this address; retry shortly")
                        .ExecuteAsync(rejected.HttpContext);
                };
            });
        }
        configure?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseExceptionHandler(error => error.Run(async context =>
        {
            // Never echo an exception: it may carry a connection string or a payload.
            switch (context.Features.Get<IExceptionHandlerFeature>()?.Error)
            {
                case Intake.JournalUnavailableException unavailable:
                    await Problems.JournalUnavailable(unavailable.RetryAfter).ExecuteAsync(context);
                    return;
                // Other journal writes (replay, drop, audit) on a full disk, a read-only file or a failing device: retry later, not a bug.
                case Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 13 or 8 or 10 }:
                    await Problems.JournalUnavailable(TimeSpan.FromSeconds(5)).ExecuteAsync(context);
                    return;
            }
            var status = context.Features.Get<IExceptionHandlerFeature>()?.Error is BadHttpRequestException bad ? bad.StatusCode : 500;
            await Problems.Of(status, status == 500 ? "Internal error" : "Bad request", status == 500 ? "the request failed; see the server log" : "the request could not be read")
                .ExecuteAsync(context);
        }));
        // 404, 405 and other empty framework answers become problem+json (see FrameworkProblems).
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        if (config.Server.IntakeRequestsPerSecond is not null) app.UseRateLimiter();
        if (!config.Secured)
            app.Logger.LogWarning("No API keys, tokens or sign-in are configured (security.apiKeys, security.jwt, security.oidc): the API is open to anyone who can reach {Urls}", urls ?? config.Server.Urls ?? DefaultUrls);
        app.MapOpenApi(LockstepOpenApi.DocumentPath).WithSummary("This document (OpenAPI 3.1)");
        app.MapLockstepApi();
        Dashboard.DashboardEndpoints.MapDashboard(app, config, app.Services.GetRequiredService<Security.ApiKeyGate>());
        return app;
    }
}
