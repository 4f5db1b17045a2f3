using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Tests.Sources;

/// <summary>
/// The county clerk's API: <c>GET /permits?since=</c> answers the permits updated at or after <c>since</c>, oldest
/// first, as a plain JSON array; with <see cref="PageSize"/> set it pages with a Link header.
/// </summary>
internal sealed class Clerk : IAsyncDisposable
{
    private PartnerServer _server = null!;
    private TimeProvider _time = TimeProvider.System;

    public ConcurrentDictionary<string, (string Status, DateTimeOffset UpdatedAt, string Location)> Permits { get; } = new();

    public ConcurrentQueue<string> Queries { get; } = new();

    /// <summary>When each query came, on the clock the clerk was started with (a test's fake clock).</summary>
    public ConcurrentQueue<DateTimeOffset> QueriedAt { get; } = new();

    public int? PageSize { get; set; }

    public string Url => _server.Url;

    public static async Task<Clerk> StartAsync(TimeProvider? time = null)
    {
        var clerk = new Clerk { _time = time ?? TimeProvider.System };
        clerk._server = await PartnerServer.StartAsync(app => app.MapGet("/permits", (HttpContext context) => clerk.List(context)));
        return clerk;
    }

    public void Put(string id, string status, DateTimeOffset updatedAt, string location = "1 Main St") => Permits[id] = (status, updatedAt, location);

    private IResult List(HttpContext context)
    {
        var since = context.Request.Query["since"].ToString();
        QueriedAt.Enqueue(_time.GetUtcNow());
        Queries.Enqueue(since);
        var from = since.Length == 0 ? DateTimeOffset.MinValue : DateTimeOffset.Parse(since, CultureInfo.InvariantCulture);
        var page = int.TryParse(context.Request.Query["page"], out var p) ? p : 0;
        var rows = Permits.Where(kv => kv.Value.UpdatedAt >= from).OrderBy(kv => kv.Value.UpdatedAt).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new { id = kv.Key, location = kv.Value.Location, status = kv.Value.Status, updatedAt = kv.Value.UpdatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) })
            .ToList();
        if (PageSize is { } size)
        {
            if ((page + 1) * size < rows.Count)
                context.Response.Headers["Link"] = $"</permits?since={Uri.EscapeDataString(since)}&page={page + 1}>; rel=\"next\"";
            rows = rows.Skip(page * size).Take(size).ToList();
        }
        return Results.Text(JsonSerializer.Serialize(rows), "application/json");
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
