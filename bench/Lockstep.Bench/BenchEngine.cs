using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Deliveries;
using Lockstep.Engines;
using Lockstep.Host;
using Lockstep.Journal;
using Lockstep.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lockstep.Bench;

/// <summary>
/// An engine wired as <c>AddLockstep</c> wires it (through AddLockstep, with the journal wrapped in a timer), from a YAML
/// string, with logging at Warning to standard error. Counts committed delivery outcomes by kind.
/// </summary>
internal sealed class BenchEngine : IAsyncDisposable
{
    private readonly ILoggerFactory _logging;
    private long _delivered;
    private long _retried;
    private long _dead;
    private long _deferred;

    private BenchEngine(LockstepEngine engine, TimedJournal journal, ILoggerFactory logging)
    {
        Engine = engine;
        Journal = journal;
        _logging = logging;
        engine.Delivered += OnCommitted;
    }

    public LockstepEngine Engine { get; }

    /// <summary>The journal as the engine sees it, timed per call.</summary>
    public TimedJournal Journal { get; }

    public long Delivered => Interlocked.Read(ref _delivered);

    public long Retried => Interlocked.Read(ref _retried);

    public long Dead => Interlocked.Read(ref _dead);

    public long Deferred => Interlocked.Read(ref _deferred);

    /// <summary>Raised after each committed batch with the new total of delivered outcomes.</summary>
    public event Action<long>? DeliveredChanged;

    public static async Task<BenchEngine> StartAsync(string yaml, string folder, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var config = new ConfigLoader(LockstepServiceCollectionExtensions.ConnectorFactories).Parse(yaml, Path.Combine(folder, "bench.yaml"));
        var time = TimeProvider.System;
        var logging = LoggerFactory.Create(b => b
            .SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Lockstep.Deliveries", LogLevel.Error)
            .AddFilter("Lockstep.Systems", LogLevel.Error)
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
        // Built by the composition root as `lockstep run` builds it; the journal is wrapped in a timer.
        var services = new ServiceCollection();
        services.AddSingleton(time);
        services.AddSingleton(logging);
        services.AddLockstep(config);
        IJournalProvider storage = config.Storage.StartsWith("postgres:", StringComparison.Ordinal) ? new Storage.Postgres.PostgresJournalProvider() : new SqliteJournalProvider();
        services.AddSingleton<IJournal>(new TimedJournal(storage.Create(config, time)));
        var provider = services.BuildServiceProvider();
        var timed = (TimedJournal)provider.GetRequiredService<IJournal>();
        var engine = provider.GetRequiredService<LockstepEngine>();
        var bench = new BenchEngine(engine, timed, logging);
        await engine.StartAsync(cancellationToken);
        return bench;
    }

    private void OnCommitted(IReadOnlyList<DeliveryCompletion> batch)
    {
        long delivered = 0;
        foreach (var c in batch)
        {
            switch (c.Kind)
            {
                case CompletionKind.Delivered: delivered++; break;
                case CompletionKind.Retry: Interlocked.Increment(ref _retried); break;
                case CompletionKind.Dead: Interlocked.Increment(ref _dead); break;
                case CompletionKind.Deferred: Interlocked.Increment(ref _deferred); break;
            }
        }
        if (delivered == 0) return;
        var total = Interlocked.Add(ref _delivered, delivered);
        DeliveredChanged?.Invoke(total);
    }

    /// <summary>Completes when at least <paramref name="count"/> deliveries have been committed as delivered.</summary>
    public async Task<bool> WaitDeliveredAsync(long count, TimeSpan timeout)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check(long total)
        {
            if (total >= count) done.TrySetResult();
        }
        DeliveredChanged += Check;
        try
        {
            Check(Delivered);
            return await Task.WhenAny(done.Task, Task.Delay(timeout)) == done.Task;
        }
        finally
        {
            DeliveredChanged -= Check;
        }
    }

    public async ValueTask DisposeAsync()
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        {
            await Engine.StopAsync(stop.Token);
        }
        await Engine.DisposeAsync();
        _logging.Dispose();
    }
}
