using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lockstep.Sources;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Tests.Sync;

/// <summary>
/// The fire marshal: <c>PUT /inspections/{id}</c> and <c>DELETE /inspections/{id}</c> are Lockstep's writes; every
/// change, Lockstep's own writes included, is pushed back to Lockstep as a signed Standard Webhook (as real systems do,
/// so a missing echo suppression shows as ping-pong). <see cref="Down"/> answers 503 to writes.
/// </summary>
internal sealed class SyncMarshal : IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly HttpClient _push = new();
    private readonly string _secret;
    private readonly Func<DateTimeOffset> _now;
    private PartnerServer _server = null!;
    private long _rev;
    private long _pushes;

    private SyncMarshal(string secret, Func<DateTimeOffset> now)
    {
        _secret = secret;
        _now = now;
    }

    public Dictionary<string, JsonObject> Inspections { get; } = new(StringComparer.Ordinal);

    /// <summary>Every write Lockstep made: "PUT P-1 {body}" or "DELETE P-1".</summary>
    public ConcurrentQueue<string> Writes { get; } = new();

    public volatile bool Down;

    /// <summary>Where pushes go: Lockstep's <c>/webhooks/marshal-hooks</c>.</summary>
    public string? HookUrl { get; set; }

    public string Url => _server.Url;

    public static async Task<SyncMarshal> StartAsync(string secret, Func<DateTimeOffset> now)
    {
        var marshal = new SyncMarshal(secret, now);
        marshal._server = await PartnerServer.StartAsync(app =>
        {
            app.MapPut("/inspections/{id}", async (string id, HttpContext context) =>
            {
                if (marshal.Down) return Results.StatusCode(503);
                var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
                marshal.Writes.Enqueue($"PUT {id} {body}");
                await marshal.StoreAndPushAsync(id, JsonNode.Parse(body)!.AsObject());
                return Results.NoContent();
            });
            app.MapDelete("/inspections/{id}", async (string id) =>
            {
                if (marshal.Down) return Results.StatusCode(503);
                marshal.Writes.Enqueue($"DELETE {id}");
                await marshal.DeleteAndPushAsync(id);
                return Results.NoContent();
            });
        });
        return marshal;
    }

    /// <summary>A change made at the marshal by an inspector: stored, then pushed to Lockstep.</summary>
    public Task EditAsync(string id, Action<JsonObject> edit)
    {
        JsonObject copy;
        lock (_lock) copy = Inspections[id].DeepClone().AsObject();
        edit(copy);
        return StoreAndPushAsync(id, copy);
    }

    public JsonObject? Get(string id)
    {
        lock (_lock) return Inspections.TryGetValue(id, out var o) ? o.DeepClone().AsObject() : null;
    }

    private async Task StoreAndPushAsync(string id, JsonObject inspection)
    {
        string body;
        lock (_lock)
        {
            inspection["rev"] = ++_rev;
            Inspections[id] = inspection;
            body = inspection.ToJsonString();
        }
        await PushAsync(body);
    }

    private async Task DeleteAndPushAsync(string id)
    {
        string body;
        lock (_lock)
        {
            Inspections.Remove(id);
            body = new JsonObject { ["permitId"] = id, ["deleted"] = true, ["rev"] = ++_rev }.ToJsonString();
        }
        await PushAsync(body);
    }

    private async Task PushAsync(string body)
    {
        if (HookUrl is null) return;
        var id = "msg_" + Interlocked.Increment(ref _pushes).ToString(CultureInfo.InvariantCulture);
        var timestamp = _now().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, HookUrl) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("webhook-id", id);
        request.Headers.Add("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", WebhookCheck.Sign(_secret, id, timestamp, Encoding.UTF8.GetBytes(body)));
        using var response = await _push.SendAsync(request);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"Lockstep refused a push: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    public async ValueTask DisposeAsync()
    {
        _push.Dispose();
        await _server.DisposeAsync();
    }
}
