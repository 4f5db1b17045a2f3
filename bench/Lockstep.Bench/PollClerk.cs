using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lockstep.Bench;

/// <summary>
/// The "county clerk" the poll scenario reads: Kestrel on 127.0.0.1, a random port, <c>GET /permits?since=CURSOR</c>
/// answering a plain JSON array of permits <c>{id, location, status, updatedAt}</c>, oldest first, from the first whose
/// <c>updatedAt</c> is at or after the cursor (inclusive, as the acceptance example asks), a page at a time with
/// a <c>Link: &lt;…&gt;; rel="next"</c> header to the rest. Item n is updated at <see cref="Epoch"/> + n seconds, so the
/// cursor maps to a position without a table; pages are built per request as a real API would build them.
/// </summary>
internal sealed class PollClerk : IAsyncDisposable
{
    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly WebApplication _app;
    private readonly int _items;
    private readonly int _pageSize;
    private long _pages;

    private PollClerk(WebApplication app, int items, int pageSize)
    {
        _app = app;
        _items = items;
        _pageSize = pageSize;
    }

    public string Url { get; private set; } = "";

    /// <summary>Pages answered so far.</summary>
    public long Pages => Interlocked.Read(ref _pages);

    public static async Task<PollClerk> StartAsync(int items, int pageSize)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var clerk = new PollClerk(app, items, pageSize);
        app.MapGet("/permits", (HttpContext context) => clerk.Page(context));
        await app.StartAsync();
        clerk.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return clerk;
    }

    public static string Key(int n) => string.Create(CultureInfo.InvariantCulture, $"C-{n}");

    private IResult Page(HttpContext context)
    {
        Interlocked.Increment(ref _pages);
        var since = context.Request.Query["since"].ToString();
        var first = 0;
        if (since.Length > 0)
        {
            if (!DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
                return Results.BadRequest("since is not a timestamp");
            first = (int)Math.Clamp(Math.Ceiling((instant - Epoch).TotalSeconds), 0, _items);
        }
        if (context.Request.Query["from"].ToString() is { Length: > 0 } from)
        {
            if (!int.TryParse(from, CultureInfo.InvariantCulture, out first) || first < 0) return Results.BadRequest("from is not a position");
        }
        var end = Math.Min(first + _pageSize, _items);
        var json = new StringBuilder(120 * (end - first) + 2).Append('[');
        for (var n = first; n < end; n++)
        {
            if (n > first) json.Append(',');
            var updated = Epoch.AddSeconds(n).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            json.Append(CultureInfo.InvariantCulture,
                $$"""{"id":"{{Key(n)}}","location":"{{n % 9973}} Main Street, Bench County","status":"{{(n % 3 == 0 ? "approved" : "pending")}}","updatedAt":"{{updated}}"}""");
        }
        json.Append(']');
        if (end < _items)
        {
            var next = string.Create(CultureInfo.InvariantCulture, $"/permits?since={Uri.EscapeDataString(since)}&from={end}");
            context.Response.Headers.Append("Link", $"<{next}>; rel=\"next\"");
        }
        return Results.Text(json.ToString(), "application/json", Encoding.UTF8);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
