using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PermitClerkMarshal;

/// <summary>The county clerk: <c>GET /permits?since=</c> answers permits updated at or after <c>since</c>, oldest first.</summary>
internal sealed class SampleClerk(WebApplication app)
{
    private readonly ConcurrentDictionary<string, (string Status, DateTimeOffset UpdatedAt, string Location)> _permits = new();
    private DateTimeOffset _clock = DateTimeOffset.Parse("2026-11-23T08:00:00Z", CultureInfo.InvariantCulture);

    public WebApplication App => app;

    public static async Task<SampleClerk> StartAsync(string url)
    {
        var app = Server(url);
        var clerk = new SampleClerk(app);
        app.MapGet("/permits", (HttpContext context) =>
        {
            var since = context.Request.Query["since"].ToString();
            var from = since.Length == 0 ? DateTimeOffset.MinValue : DateTimeOffset.Parse(since, CultureInfo.InvariantCulture);
            var rows = clerk._permits.Where(kv => kv.Value.UpdatedAt >= from).OrderBy(kv => kv.Value.UpdatedAt)
                .Select(kv => new { id = kv.Key, location = kv.Value.Location, status = kv.Value.Status, updatedAt = kv.Value.UpdatedAt.ToString("O", CultureInfo.InvariantCulture) });
            return Results.Json(rows);
        });
        await app.StartAsync();
        return clerk;
    }

    public IReadOnlyDictionary<string, string> Statuses => _permits.ToDictionary(kv => kv.Key, kv => kv.Value.Status);

    /// <summary>A clerk-side change: each one gets a later updatedAt, as a real system of record would stamp it.</summary>
    public void Change(string id, string status, string location)
    {
        lock (_permits)
        {
            _clock = _clock.AddSeconds(1);
            _permits[id] = (status, _clock, location);
        }
    }

    internal static WebApplication Server(string url)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        return builder.Build();
    }
}

/// <summary>
/// The fire marshal: <c>PUT/GET /inspections/{id}</c>, and its own changes (inspection results) pushed to Lockstep as
/// Standard Webhooks (<c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature: v1,BASE64(HMAC-SHA256)</c>).
/// </summary>
internal sealed class SampleMarshal(WebApplication app, string secret)
{
    private static readonly HttpClient Http = new();

    public ConcurrentDictionary<string, string> Inspections { get; } = new();

    public WebApplication App => app;

    public static async Task<SampleMarshal> StartAsync(string url, string secret)
    {
        var app = SampleClerk.Server(url);
        var marshal = new SampleMarshal(app, secret);
        app.MapPut("/inspections/{id}", async (string id, HttpContext context) =>
        {
            marshal.Inspections[id] = await new StreamReader(context.Request.Body).ReadToEndAsync();
            return Results.NoContent();
        });
        app.MapGet("/inspections/{id}", (string id) =>
            marshal.Inspections.TryGetValue(id, out var body) ? Results.Text(body, "application/json") : Results.NotFound());
        await app.StartAsync();
        return marshal;
    }

    /// <summary>Changes a record behind Lockstep's back (drift for the reconciliation to find).</summary>
    public void Corrupt(string id) => Inspections[id] = JsonSerializer.Serialize(new { permitId = id, address = "?", status = "tampered" });

    /// <summary>Pushes an inspection result to Lockstep, signed; returns the HTTP status Lockstep answered.</summary>
    public async Task<int> PushAsync(string lockstepUrl, string permitId, int rev, string result, string? webhookId = null, DateTimeOffset? at = null)
    {
        var body = JsonSerializer.Serialize(new { permitId, rev, result });
        var id = webhookId ?? $"msg_{permitId}_{rev}";
        var timestamp = (at ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        var signature = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}")));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{lockstepUrl}/webhooks/marshal-hooks") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("webhook-id", id);
        request.Headers.Add("webhook-timestamp", timestamp);
        request.Headers.Add("webhook-signature", "v1," + signature);
        using var response = await Http.SendAsync(request);
        return (int)response.StatusCode;
    }
}
