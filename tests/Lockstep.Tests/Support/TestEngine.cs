using Lockstep.Configuration;
using Lockstep.Engines;
using Lockstep.Events;
using Lockstep.Host;
using Lockstep.Records;
using Lockstep.Status;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lockstep.Tests.Support;

/// <summary>A real engine on a real SQLite file in a temp folder, with the clock the test chooses.</summary>
internal sealed class TestEngine : IAsyncDisposable
{
    private readonly bool _ownsFolder;

    private TestEngine(LockstepEngine engine, LockstepConfig config, TempFolder folder, CapturingLoggerProvider logs, bool ownsFolder)
    {
        _ownsFolder = ownsFolder;
        Engine = engine;
        Config = config;
        Folder = folder;
        Logs = logs;
        engine.Delivered += _ => Committed.Pulse();
    }

    public LockstepEngine Engine { get; }

    public LockstepConfig Config { get; }

    public TempFolder Folder { get; }

    public CapturingLoggerProvider Logs { get; }

    /// <summary>Pulses after every committed batch of delivery outcomes.</summary>
    public Signal Committed { get; } = new();

    /// <summary>The journal file of a config (<c>storage: sqlite:PATH</c>).</summary>
    public static string JournalPath(LockstepConfig config) => Storage.Sqlite.SqliteJournalProvider.PathOf(config);

    public static LockstepConfig Load(string yaml, string folder, IReadOnlyDictionary<string, string>? environment = null, IEnumerable<Lockstep.Connectors.IConnectorFactory>? extraFactories = null) =>
        new ConfigLoader(LockstepServiceCollectionExtensions.ConnectorFactories.Concat(extraFactories ?? []), name => environment?.GetValueOrDefault(name))
            .Parse(yaml, Path.Combine(folder, "lockstep.yaml"));

    /// <param name="extraFactories">Connector families of the test's own, next to the built-in ones.</param>
    public static async Task<TestEngine> StartAsync(string yaml, TimeProvider time, IReadOnlyDictionary<string, string>? environment = null, TempFolder? folder = null,
        IEnumerable<Lockstep.Connectors.IConnectorFactory>? extraFactories = null)
    {
        var ownsFolder = folder is null;
        folder ??= new TempFolder();
        var config = Load(yaml, folder.Path, environment, extraFactories);
        var logs = new CapturingLoggerProvider();
        var logging = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        // Built by the one composition root, as `lockstep run` builds it; only the clock and the log sink are the test's.
        var services = new ServiceCollection();
        services.AddSingleton(time);
        services.AddSingleton(logging);
        services.AddLockstep(config, extraFactories);
        var engine = services.BuildServiceProvider().GetRequiredService<LockstepEngine>();
        await engine.StartAsync(CancellationToken.None);
        return new TestEngine(engine, config, folder, logs, ownsFolder);
    }

    public Task<AppendResult> PublishAsync(params Event[] events) => Engine.PublishAsync(events, CancellationToken.None).AsTask();

    public Task<StatusReport> StatusAsync() => Engine.StatusAsync(CancellationToken.None).AsTask();

    public Task WaitForStateAsync(string state, string? system = null) =>
        Eventually.WaitAsync(async () =>
        {
            var status = await StatusAsync();
            return (system is null ? status.State : status.Systems[system].State) == state;
        }, $"status {system ?? "overall"} = {state}", signal: Committed, describe: async () => System.Text.Json.JsonSerializer.Serialize(await StatusAsync()));

    public static Event Permit(string key, long version, string type = "permitApproved", RecordOp op = RecordOp.Upsert, string? id = null, string? status = null) =>
        new(id ?? $"permit:{key}:{version}", type, "permit", key, version, op,
            op == RecordOp.Delete ? null : $$$"""{"id":"{{{key}}}","status":"{{{status ?? "approved"}}}","rev":{{{version}}},"owner":{"firstName":"Ada","lastName":"Lovelace"},"location":{"lat":45.5,"lng":-73.6}}""");

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        if (_ownsFolder) Folder.Dispose(); // a folder passed in outlives the engine (a restart on the same journal)
    }
}

/// <summary>A folder under the temp directory, removed at the end.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("lockstep-test-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a child process: left for the OS to clean.
        }
    }
}
