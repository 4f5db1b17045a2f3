using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Tests.Sync;

/// <summary>
/// The county clerk, system of record of a two-way pair: <c>GET /permits?since=</c> lists permits changed at or after
/// <c>since</c> (oldest first, deleted ones with <c>deleted: true</c>); <c>PUT /permits/{id}</c> and
/// <c>DELETE /permits/{id}</c> are Lockstep's writes, each stamped with the clerk's own clock as real systems do.
/// </summary>
internal sealed class SyncClerk : IAsyncDisposable
{
    private readonly object _lock = new();
    private PartnerServer _server = null!;
    private DateTimeOffset _clock = new(2026, 11, 23, 7, 0, 0, TimeSpan.Zero);
    private volatile TaskCompletionSource? _hold;

    public Dictionary<string, Permit> Permits { get; } = new(StringComparer.Ordinal);

    /// <summary>Every write Lockstep made: "PUT P-1 {body}" or "DELETE P-1".</summary>
    public ConcurrentQueue<string> Writes { get; } = new();

    public string Url => _server.Url;

    public static async Task<SyncClerk> StartAsync()
    {
        var clerk = new SyncClerk();
        clerk._server = await PartnerServer.StartAsync(app =>
        {
            app.MapGet("/permits", (HttpContext context) => clerk.List(context));
            app.MapPut("/permits/{id}", async (string id, HttpContext context) =>
            {
                var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
                using var json = JsonDocument.Parse(body);
                clerk.Writes.Enqueue($"PUT {id} {body}");
                clerk.Change(id, json.RootElement.GetProperty("status").GetString()!, json.RootElement.GetProperty("location").GetString()!);
                if (clerk._hold is { } hold) await hold.Task;
                return Results.NoContent();
            });
            app.MapDelete("/permits/{id}", (string id) =>
            {
                clerk.Writes.Enqueue($"DELETE {id}");
                clerk.Delete(id);
                return Results.NoContent();
            });
        });
        return clerk;
    }

    /// <summary>Until <see cref="ReleaseWrites"/>, Lockstep's writes are applied but not answered: the clerk holds the write, Lockstep's delivery has not finished.</summary>
    public void HoldWrites() => _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseWrites() => _hold?.TrySetResult();

    /// <summary>A change made at the clerk (by a clerk employee, or by Lockstep's write): a new updatedAt.</summary>
    public Permit Change(string id, string status, string? location = null)
    {
        lock (_lock)
        {
            _clock = _clock.AddSeconds(1);
            var permit = new Permit(id, location ?? (Permits.TryGetValue(id, out var old) ? old.Location : "1 Main St"), status, _clock, false);
            Permits[id] = permit;
            return permit;
        }
    }

    public void Delete(string id)
    {
        lock (_lock)
        {
            _clock = _clock.AddSeconds(1);
            Permits[id] = Permits[id] with { UpdatedAt = _clock, Deleted = true };
        }
    }

    public Permit? Get(string id)
    {
        lock (_lock) return Permits.TryGetValue(id, out var p) ? p : null;
    }

    private IResult List(HttpContext context)
    {
        var since = context.Request.Query["since"].ToString();
        var from = since.Length == 0 ? DateTimeOffset.MinValue : DateTimeOffset.Parse(since, CultureInfo.InvariantCulture);
        lock (_lock)
        {
            var rows = Permits.Values.Where(p => p.UpdatedAt >= from).OrderBy(p => p.UpdatedAt)
                .Select(p => new { id = p.Id, location = p.Location, status = p.Status, updatedAt = Stamp(p.UpdatedAt), deleted = p.Deleted })
                .ToList();
            return Results.Text(JsonSerializer.Serialize(rows), "application/json");
        }
    }

    public static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    internal sealed record Permit(string Id, string Location, string Status, DateTimeOffset UpdatedAt, bool Deleted);
}
