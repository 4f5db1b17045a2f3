using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Lockstep.Configuration;
using Lockstep.Connectors;
using Lockstep.Deliveries;
using Lockstep.Host;
using Lockstep.Host.Api;
using Lockstep.Records;
using Lockstep.Sources;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lockstep.Tests.Connectors;

/// <summary>
/// docs/connectors.md: an embedding application registers a connector family of its own next to the built-in ones; its
/// systems are validated at load and delivered to through the journal like any other.
/// </summary>
public sealed class CustomConnectorTests
{
    private const string Yaml = """
        storage: sqlite:data/lockstep.db
        systems:
          legacy: { type: ledger, shelf: permits }
        flows:
          permits-to-legacy:
            entity: permit
            to: legacy
            map: (p) => ({ id: p.id, status: p.status })
            retry: { maxAttempts: 5, initialDelay: 10ms, maxDelay: 50ms }
        """;

    [Fact]
    public async Task A_connector_of_the_applications_own_type_is_validated_and_delivered_to_with_retries()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "lockstep.yaml");
        await File.WriteAllTextAsync(path, Yaml);
        var ledger = new Ledger();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddLockstep(path, ledger);
        await using var app = builder.Build();
        app.MapLockstepApi();
        await app.StartAsync();

        using var http = new HttpClient();
        var events = string.Join(",", Enumerable.Range(1, 5).Select(i =>
            $$$"""{"type":"permitApproved","entity":"permit","key":"P-{{{i}}}","version":1,"data":{"id":"P-{{{i}}}","status":"approved"}}"""));
        using var response = await http.PostAsync($"{app.ListeningUrl()}/api/events", new StringContent($"[{events}]", Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        await Eventually.WaitAsync(() => ledger.Rows.Count == 5, "five rows on the ledger");
        await app.StopAsync();

        Assert.Equal("permits", ledger.Shelf);
        Assert.Equal("""{"id":"P-3","status":"approved"}""", ledger.Rows["P-3"]);
        Assert.Equal(2, ledger.Attempts["P-3"]);   // its first attempt failed transiently and the engine retried it
    }

    [Fact]
    public void The_applications_connector_validates_its_own_keys_and_cannot_replace_a_built_in_type()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "lockstep.yaml");
        File.WriteAllText(path, Yaml.Replace("shelf: permits", "shelve: permits", StringComparison.Ordinal));

        var errors = Assert.Throws<ConfigException>(() => new ServiceCollection().AddLockstep(path, new Ledger())).Errors;
        Assert.Contains(errors, e => e.ToString().Contains(":3: systems.legacy.shelf: is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.ToString().Contains("systems.legacy.shelve: unknown key 'shelve'", StringComparison.Ordinal));

        var twice = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddLockstep(path, new Ledger("http")));
        Assert.Contains("connector type 'http' is registered twice", twice.Message, StringComparison.Ordinal);
    }

    /// <summary>The smallest useful connector: rows in memory, upsert by key, the first attempt at P-3 failing transiently.</summary>
    private sealed class Ledger(string type = "ledger") : IConnectorFactory, IConnector
    {
        public ConcurrentDictionary<string, string> Rows { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, int> Attempts { get; } = new(StringComparer.Ordinal);

        public string? Shelf { get; private set; }

        public string Type => type;

        public IReadOnlyCollection<string> SystemKeys { get; } = ["shelf"];

        public IReadOnlyCollection<string> FlowKeys { get; } = [];

        public object? BindSystem(ConfigSection system) => system.String("shelf", required: true);

        public object? BindFlow(ConfigSection flow, SystemDefinition system) => null;

        public IConnector Create(SystemDefinition system, ConnectorContext context)
        {
            Shelf = (string?)system.Settings;
            return this;
        }

        public ISource CreateSource(SourceDefinition source, SystemDefinition system, ConnectorContext context) => throw new NotSupportedException("not a source");

        public string? CannotReconcile(FlowDefinition flow) => "the ledger cannot be read back";

        public ValueTask<ConnectorResult> ApplyAsync(Delivery delivery, FlowDefinition flow, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
        {
            if (Attempts.AddOrUpdate(delivery.Key, 1, (_, n) => n + 1) == 1 && delivery.Key == "P-3")
                return ValueTask.FromResult(ConnectorResult.Transient("the ledger is busy"));
            if (delivery.Op == RecordOp.Delete) Rows.TryRemove(delivery.Key, out _);
            else Rows[delivery.Key] = Encoding.UTF8.GetString(body.Span);
            return ValueTask.FromResult(ConnectorResult.Success());
        }

        public ValueTask<TargetRead> ReadAsync(Delivery delivery, FlowDefinition flow, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TargetRead.Failed("the ledger cannot be read back"));

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
