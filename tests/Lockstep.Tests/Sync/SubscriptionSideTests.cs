using System.Collections.Concurrent;
using Lockstep.Tests.Connectors.Messaging;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Tests.Sync;

/// <summary>
/// A two-way pair whose one side is a broker: a NATS subject Lockstep publishes to and reads changes from (real
/// nats-server), the other an HTTP ledger it polls and writes to (real Kestrel).
/// </summary>
[Collection("nats broker")]
public sealed class SubscriptionSideTests
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..10];

    private string Yaml(string ledger) => $$"""
        storage: sqlite:lockstep.db
        systems:
          bus: { type: nats, url: {{TestServers.Nats}}, timeout: 5s }
          ledger: { type: http, url: "{{ledger}}" }
        sources:
          bus-changes:
            type: nats
            from: bus
            stream: S{{_id}}
            subject: s{{_id}}.>
            durable: lockstep
            entity: permit
            key: id
          ledger-changes:
            type: http-poll
            from: ledger
            get: GET /permits?since={cursor}
            interval: 1d
            entity: permit
            key: id
            version: rev
            cursor: rev
        flows:
          permits-to-bus: { entity: permit, to: bus, subject: "s{{_id}}.{entity}.{key}" }
          permits-to-ledger: { entity: permit, to: ledger, upsert: "PUT /permits/{key}" }
        sync:
          permits-both-ways:
            entity: permit
            source: { system: ledger, from: [ledger-changes], to: permits-to-ledger }
            target: { system: bus, from: [bus-changes], to: permits-to-bus }
        """;

    [Fact]
    public async Task A_change_on_the_bus_goes_to_the_other_side_only_and_lockstep_s_own_message_is_an_echo()
    {
        await using var probe = new NatsProbe();
        await probe.CreateStreamAsync($"S{_id}", $"s{_id}.>");
        var puts = new ConcurrentQueue<(string Key, string Body)>();
        var ledgerRows = new ConcurrentDictionary<string, string> { ["P-2"] = """{"id":"P-2","status":"approved","rev":1}""" };
        await using var ledger = await PartnerServer.StartAsync(app =>
        {
            app.MapGet("/permits", (HttpContext c) => Results.Text("[" + string.Join(',', ledgerRows.Values) + "]", "application/json"));
            app.MapPut("/permits/{key}", async (string key, HttpContext c) =>
            {
                puts.Enqueue((key, await new StreamReader(c.Request.Body).ReadToEndAsync()));
                return Results.Ok();
            });
        });
        await using var engine = await TestEngine.StartAsync(Yaml(ledger.Url), TimeProvider.System);

        // The ledger's P-2 goes to the bus; the subscription then reads Lockstep's own message: an echo, not a bus change.
        await Eventually.WaitAsync(async () => (await engine.StatusAsync()).Sources!["bus-changes"].Items >= 1, "Lockstep's P-2 message read back from the bus");
        await engine.WaitForStateAsync("synced");
        var afterEcho = puts.Count;
        // Another program changes P-1 on the bus: it goes to the ledger, not back to the bus.
        await probe.PublishAsync($"s{_id}.permit.P-1", """{"id":"P-1","status":"revoked"}""", "dispatch:P-1:1");
        await Eventually.WaitAsync(() => puts.Any(p => p.Key == "P-1"), "P-1 at the ledger");
        await engine.WaitForStateAsync("synced");

        var messages = await probe.ReadAllAsync($"S{_id}");
        Assert.Equal(0, afterEcho);
        Assert.Equal([("P-1", """{"id":"P-1","status":"revoked"}""")], puts);
        Assert.Equal(["permits-to-bus:permit:P-2:1", "dispatch:P-1:1"], messages.Select(m => m.MsgId));
        var history = await engine.Engine.RecordHistoryAsync("permit", "P-2", CancellationToken.None);
        Assert.Contains(history.Versions, v => v.EventId.StartsWith("bus-changes:", StringComparison.Ordinal) && v.Status == "echo");
    }
}
