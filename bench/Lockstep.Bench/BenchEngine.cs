using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Deliveries;
using Lockstep.Engines;
using Lockstep.Host;
using Lockstep.Routing;
using Lockstep.Storage.Sqlite;
using Microsoft.Extensions.Logging;

namespace Lockstep.Bench;

/// <summary>
/// An engine wired as <c>AddLockstep</c> wires it (config → SqliteJournal + connectors → LockstepEngine), from a YAML
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

    /// <param name="pullSide">
    /// Hand the engine the journal itself rather than the timer around it, so it sees the journal's cursor and
    /// reconciliation stores, and build the config's poll sources (the pull-side scenarios need both).
    /// </param>
    public static async Task<BenchEngine> StartAsync(string yaml, string folder, CancellationToken cancellationToken, bool pullSide = false)
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
        var path = config.SqlitePath ?? throw new InvalidOperationException("bench configs use sqlite storage");
        var journal = new SqliteJournal(path, new FlowRouter(config.Flows), config.Delivery, time);
        var context = new ConnectorContext(time, logging, config.Secrets);
        var factories = LockstepServiceCollectionExtensions.ConnectorFactories.ToDictionary(f => f.Type, StringComparer.Ordinal);
        var connectors = config.Systems.Values.ToDictionary(s => s.Name, s => factories[s.Type].Create(s, context), StringComparer.Ordinal);
        var timed = new TimedJournal(journal);
        var engine = pullSide
            ? new LockstepEngine(config, journal, journal, journal, connectors, LockstepServiceCollectionExtensions.CreateSources(config, context), time, logging)
            : new LockstepEngine(config, timed, journal, journal, connectors, time, logging);
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
