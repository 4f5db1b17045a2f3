using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Lockstep.Bench.Scenarios;

/// <summary>
/// (6) Poll intake: an <c>http-poll</c> source (cursor <c>updatedAt</c>, version from <c>updatedAt</c>) reads N permits
/// from a local clerk, a page at a time behind Link headers, in one run started by <c>LockstepEngine.SyncAsync</c>;
/// each page's events commit with the cursor. Reported: items per second into the journal and peak RSS. Checked: every
/// item journaled exactly once (counted in the SQLite file), and a second run (which re-reads the cursor's own item,
/// the cursor being inclusive) adds nothing. The limit: a plain HttpClient loop reading the same pages and parsing
/// them, no journal. As in (1), each event is routed to a flow whose target is a closed port, so a delivery row is
/// written per item and nothing is sent.
/// </summary>
internal sealed class PollScenario(BenchOptions options, Report report, string folder)
{
    private const string Source = "clerk-permits";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var n = options.PollItems;
        var page = options.PollPageSize;
        await using var clerk = await PollClerk.StartAsync(n, page);
        var plainSeconds = await PlainAsync(clerk.Url, n, cancellationToken);
        var plainRate = n / plainSeconds;
        Console.Error.WriteLine($"[poll] plain HttpClient: {n:N0} items in {clerk.Pages:N0} pages in {plainSeconds:F2} s = {plainRate:N0}/s");

        var db = Path.Combine(folder, "poll.db");
        // The cron never fires during the run (1 January): the one run is the SyncAsync below. As in (1), the one flow
        // points at a closed port behind a long circuit break, so each event is routed (a delivery row) and nothing is sent.
        var yaml = $$"""
            storage: sqlite:{{db}}
            systems:
              clerk:
                type: http
                url: {{clerk.Url}}
                timeout: 30s
              offline:
                type: http
                url: http://127.0.0.1:1
                concurrency: 4
                circuit: { minimumThroughput: 2, breakDuration: 1h, maxBreakDuration: 1h }
            sources:
              {{Source}}:
                type: http-poll
                from: clerk
                get: GET /permits?since={cursor}
                cron: "0 0 1 1 *"
                entity: permit
                key: id
                version: updatedAt
                cursor: updatedAt
                maxPages: {{n / page + 2}}
            flows:
              permits-to-offline:
                on: [{{Source}}]
                to: offline
                upsert: PUT /api/records/{key}
            """;
        var wrong = new List<string>();
        double seconds;
        long peak;
        string peakHow;
        long accepted, items, again;
        var load = Report.LoadAverage();
        var cpu = ProcessMemory.CpuTime();
        await using (var bench = await BenchEngine.StartAsync(yaml, folder, cancellationToken))
        {
            var engine = bench.Engine;
            await using (var rss = new PeakRss())
            {
                var watch = Stopwatch.StartNew();
                var outcome = await engine.SyncAsync(Source, full: false, cancellationToken) ?? throw new InvalidOperationException($"poll: no source {Source}");
                seconds = watch.Elapsed.TotalSeconds;
                peak = rss.Peak;
                peakHow = rss.Describe();
                var status = (await engine.StatusAsync(cancellationToken)).Sources![Source];
                accepted = status.Accepted;
                items = status.Items;
                Console.Error.WriteLine($"[poll] engine: run '{outcome.Outcome}': {items:N0} items, {accepted:N0} new in {seconds:F2} s; state {status.State}, cursor {status.Cursor}, error {status.LastError}");
                if (status.State != "ok") wrong.Add($"source state {status.State}: {status.LastError}");
            }
            var second = await engine.SyncAsync(Source, full: false, cancellationToken);
            var after = (await engine.StatusAsync(cancellationToken)).Sources![Source];
            again = after.Accepted;
            Console.Error.WriteLine($"[poll] second run '{second?.Outcome}': {after.Items} items re-read, {again} new");
        }
        var cpuMicros = ProcessMemory.CpuMicros(cpu, n);
        var (events, keys) = await CountAsync(db, cancellationToken);
        if (items != n) wrong.Add($"read {items} items ≠ {n}");
        if (accepted != n) wrong.Add($"accepted {accepted} ≠ {n}");
        if (events != n || keys != n) wrong.Add($"the journal holds {events} events for {keys} keys ≠ {n}");
        if (again != 0) wrong.Add($"the second run added {again} events");
        var rate = n / seconds;
        Console.Error.WriteLine($"[poll] journal: {events:N0} events, {keys:N0} distinct keys; CPU {cpuMicros:F0} µs/item incl. the clerk; peak RSS {ProcessMemory.Mb(peak)} ({peakHow}); load {load}");
        report.Add(new ResultRow(
            $"(6) poll intake, http-poll, {n:N0} items, pages of {page:N0} (Link header), cursor updatedAt",
            $"{Report.Rate(rate)} items/s into the journal ({Report.S(seconds)}); peak RSS {ProcessMemory.Mb(peak)}",
            $"plain HttpClient reading and parsing the same pages, no journal: {Report.Rate(plainRate)} items/s",
            Report.Percent(rate / plainRate), "every item journaled once", Report.YesNo(wrong.Count == 0)));
        report.Note($"poll: {events:N0} events for {keys:N0} keys in the journal; a second run re-read the cursor's item and added {again}; " +
            $"CPU {cpuMicros:F0} µs/item incl. the in-process clerk; peak RSS is the {peakHow}, the in-process HTTP server included");
        if (wrong.Count > 0) throw new InvalidOperationException("poll: " + string.Join("; ", wrong));
    }

    /// <summary>The limit: the same pages fetched one after another and parsed into items; returns seconds taken.</summary>
    private static async Task<double> PlainAsync(string url, int n, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { BaseAddress = new Uri(url) };
        var watch = Stopwatch.StartNew();
        var next = "/permits?since=";
        var count = 0;
        for (var pages = 0; next is not null && pages < n + 1; pages++)
        {
            using var response = await client.GetAsync(next, cancellationToken);
            response.EnsureSuccessStatusCode();
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            using var document = JsonDocument.Parse(text);
            foreach (var item in document.RootElement.EnumerateArray())
            {
                if (item.GetRawText().Length > 0) count++;
            }
            next = response.Headers.TryGetValues("Link", out var links) ? links.First().Split(';')[0].Trim('<', '>', ' ') : null;
        }
        if (count != n) throw new InvalidOperationException($"poll: the plain loop read {count} items, not {n}");
        return watch.Elapsed.TotalSeconds;
    }

    private static async Task<(long Events, long Keys)> CountAsync(string path, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), COUNT(DISTINCT key) FROM events WHERE type = $type";
        command.Parameters.AddWithValue("$type", Source);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}
