using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Lockstep.Bench.Scenarios;

/// <summary>
/// (9) The remaining connectors, each through the real engine with the flow of (2)'s JS map, timed from the first publish
/// until the last outcome is committed (after an unmeasured warm-up): http unbatched (as in (2), same run, same target)
/// and batched (<c>batch: POST /api/records/batch</c>, default <c>linger</c> and <c>batchSize</c>), file (JSON Lines;
/// the connector batches by itself: one fsync per batch), webhook (signed Standard Webhooks POSTs to the bench's Kestrel,
/// which verifies nothing and answers 200) and, with <c>--caldav URL</c>, caldav (one VEVENT PUT per record into a fresh
/// calendar collection). Each has a plain limit with the same concurrency and no journal.
/// </summary>
internal sealed partial class ConnectorsScenario(BenchOptions options, Report report, string folder, BenchTarget target)
{
    private static readonly MediaTypeHeaderValue Json = new("application/json") { CharSet = "utf-8" };

    // The engine's default delivery.batchSize: what one claim pass (and one http batch) holds at most.
    private const int ClaimBatch = 256;

    private const string Map = "map: (p, r) => ({ registryId: p.id, applicantName: `${p.owner.firstName} ${p.owner.lastName}`, geo: { lat: p.location.lat, lon: p.location.lng }, rev: p.rev })";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var n = options.Records;
        var c = options.Concurrency;
        var warmup = Math.Min(options.Warmup, n);

        // http: unbatched (the flow of (2)) and batched, against the same target.
        await PlainHttpBatchAsync("WPB-", warmup, c, cancellationToken);
        var plainBatch = await PlainHttpBatchAsync("PB-", n, c, cancellationToken);
        var registry = $"registry: {{ type: http, url: {target.Url}, concurrency: {c}, timeout: 10s }}";
        var unbatched = await EngineAsync("http", registry, Permits.FlowYaml("registry"), n, warmup, () => Task.FromResult(target.Ok), cancellationToken);
        var batchedFlow = Flow("permits-batch", "registry", Map, "batch: POST /api/records/batch");
        var batched = await EngineAsync("http-batch", registry, batchedFlow, n, warmup, () => Task.FromResult(target.Ok), cancellationToken);
        report.Add(new ResultRow(
            $"(9) http connector, {n:N0} records, unbatched (one PUT each, as (2)) → `batch: POST /api/records/batch` (up to {ClaimBatch} a request, linger 50ms), JS map, concurrency {c}",
            $"{Report.Rate(unbatched)} → {Report.Rate(batched)} records/s",
            $"plain HttpClient loop POSTing JSON arrays of {ClaimBatch} with Idempotency-Keys, {c} workers, no journal: {Report.Rate(plainBatch)} records/s",
            Report.Percent(batched / plainBatch) + $" (batched/unbatched {Report.Times(batched / unbatched)})", "(context)", "–"));

        // file: JSON Lines, one fsync per claimed batch.
        var file = Path.Combine(folder, "out", "permits.jsonl");
        await PlainFileAsync(Path.Combine(folder, "plain-warmup.jsonl"), "WPF-", warmup, cancellationToken);
        var plainFile = await PlainFileAsync(Path.Combine(folder, "plain.jsonl"), "PF-", n, cancellationToken);
        var fileRate = await EngineAsync("file", $"archive: {{ type: file, path: {file}, concurrency: {c} }}",
            Flow("permits-file", "archive", Map), n, warmup, () => Task.FromResult(CountLines(file)), cancellationToken);
        report.Add(new ResultRow(
            $"(9b) file connector, {n:N0} records as JSON Lines (batched by the connector: one fsync per claimed batch of up to {ClaimBatch}), JS map",
            $"{Report.Rate(fileRate)} records/s",
            $"plain FileStream append, fsync every {ClaimBatch} lines, one writer, no journal: {Report.Rate(plainFile)} records/s",
            Report.Percent(fileRate / plainFile), "(context)", "–"));

        // webhook: signed POSTs; the receiver verifies nothing.
        var secret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        Environment.SetEnvironmentVariable("LOCKSTEP_BENCH_WEBHOOK_SECRET", secret);
        await PlainWebhookAsync(secret, "WPW-", warmup, c, cancellationToken);
        var plainHook = await PlainWebhookAsync(secret, "PW-", n, c, cancellationToken);
        var hookRate = await EngineAsync("webhook",
            $"partner: {{ type: webhook, url: \"{target.Url}/hooks/permits\", secret: \"${{LOCKSTEP_BENCH_WEBHOOK_SECRET}}\", concurrency: {c}, timeout: 10s }}",
            Flow("permits-hook", "partner", Map), n, warmup, () => Task.FromResult(target.Ok), cancellationToken);
        report.Add(new ResultRow(
            $"(9c) webhook connector, {n:N0} records, one signed POST each (Standard Webhooks, unbatched), JS map, concurrency {c}",
            $"{Report.Rate(hookRate)} records/s",
            $"plain HttpClient loop, same payload and HMAC-SHA256 signature headers, {c} workers, no journal: {Report.Rate(plainHook)} records/s",
            Report.Percent(hookRate / plainHook), "(context)", "–"));
        report.Add(new ResultRow("(9c) batched webhook", "not supported (one POST per record version)", "–", "–", "–", "–"));

        if (options.CalDav is { } caldav)
        {
            try
            {
                // Radicale serves at most 8 connections at once (its max_connections default), the connector's default concurrency.
                await CalDavAsync(caldav, Math.Min(c, 8), cancellationToken);
            }
            catch (HttpRequestException e)
            {
                throw new HttpRequestException($"caldav: {e.Message} ({e.InnerException?.GetType().Name}: {e.InnerException?.Message})", e);
            }
        }
        else report.Note("connectors: caldav skipped: no --caldav URL given (user and password from LOCKSTEP_BENCH_CALDAV_USER/_PASSWORD)");
    }

    /// <summary>A flow of permits to <paramref name="system"/> with the given extra lines (map, batch, ...).</summary>
    private static string Flow(string name, string system, params string[] lines) =>
        $"  {name}:\n    on: [{Permits.Type}]\n    to: {system}\n    retry: {{ maxAttempts: 1000, initialDelay: 50ms, maxDelay: 1s }}\n" +
        string.Concat(lines.Select(l => "    " + l + "\n"));

    /// <summary>Runs the engine with one system and its flows; returns records/s over the measured <paramref name="n"/>.</summary>
    private async Task<double> EngineAsync(string name, string system, string flows, int n, int warmup, Func<Task<long>> seen, CancellationToken cancellationToken)
    {
        var yaml = $"storage: sqlite:{Path.Combine(folder, name + ".db")}\nsystems:\n  {system}\n{Permits.DeliveryYaml(options)}\nflows:\n{flows}\n";
        target.ResetCounters();
        await using var bench = await BenchEngine.StartAsync(yaml, Path.Combine(folder, name), cancellationToken);
        var engine = bench.Engine;
        var prefix = name.ToUpperInvariant().Replace("-", "", StringComparison.Ordinal);
        await IntakeScenario.PublishAllAsync(Permits.Batches($"W{prefix}-", 0, warmup, options.BatchSize), options.Publishers, (b, ct) => engine.PublishAsync(b, ct), cancellationToken);
        if (!await bench.WaitDeliveredAsync(warmup, TimeSpan.FromMinutes(5))) throw new TimeoutException($"{name} warm-up did not finish in 5 minutes");

        var batches = Permits.Batches($"{prefix}-", 0, n, options.BatchSize);
        var load = Report.LoadAverage();
        var cpu = ProcessMemory.CpuTime();
        var watch = Stopwatch.StartNew();
        await IntakeScenario.PublishAllAsync(batches, options.Publishers, (b, ct) => engine.PublishAsync(b, ct), cancellationToken);
        var finished = await bench.WaitDeliveredAsync(warmup + n, TimeSpan.FromMinutes(10));
        watch.Stop();
        var micros = ProcessMemory.CpuMicros(cpu, n);
        if (!finished) throw new TimeoutException($"{name}: only {bench.Delivered - warmup:N0} of {n:N0} delivered in 10 minutes");
        var held = await seen();
        if (held < warmup + n) report.Note($"{name}: the target holds {held:N0} for {warmup + n:N0} records delivered");
        var rate = n / watch.Elapsed.TotalSeconds;
        var batchInfo = name == "http-batch" ? $"; {target.Batches:N0} batch requests" : "";
        Console.Error.WriteLine($"[connectors] {name} engine: {n:N0} records delivered in {watch.Elapsed.TotalSeconds:F2} s = {rate:N0}/s; " +
            $"CPU {micros:F0} µs/record (retries {bench.Retried}, dead {bench.Dead}; target saw {held:N0}{batchInfo}; load {load})");
        return rate;
    }

    private static HttpClient Client(string baseUrl, int workers) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = workers, UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = new Uri(baseUrl) };

    /// <summary>Runs <paramref name="workers"/> loops taking chunks of <paramref name="chunk"/> of records 0..n-1; returns records/s.</summary>
    private static async Task<double> LoopAsync(string what, int n, int workers, int chunk, Func<int, int, Task> send, CancellationToken cancellationToken)
    {
        var next = -chunk;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            int from;
            while ((from = Interlocked.Add(ref next, chunk)) < n) await send(from, Math.Min(chunk, n - from));
        }, cancellationToken)));
        var rate = n / watch.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"[connectors] plain {what}: {n:N0} records in {watch.Elapsed.TotalSeconds:F2} s = {rate:N0}/s");
        return rate;
    }

    // http batch: JSON arrays of up to ClaimBatch mapped records, keys in one header, as the connector sends them.
    private async Task<double> PlainHttpBatchAsync(string prefix, int n, int workers, CancellationToken cancellationToken)
    {
        using var client = Client(target.Url, workers);
        return await LoopAsync("http batch", n, workers, ClaimBatch, async (from, count) =>
        {
            using var body = new MemoryStream(count * 160);
            var keys = new string[count];
            body.WriteByte((byte)'[');
            for (var i = 0; i < count; i++)
            {
                var key = string.Create(CultureInfo.InvariantCulture, $"{prefix}{from + i}");
                keys[i] = Uri.EscapeDataString($"plain:permit:{key}:1");
                if (i > 0) body.WriteByte((byte)',');
                body.Write(DeliveryScenario.Body(key, from + i));
            }
            body.WriteByte((byte)']');
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/records/batch") { Content = new ByteArrayContent(body.GetBuffer(), 0, (int)body.Length) };
            request.Content.Headers.ContentType = Json;
            request.Headers.TryAddWithoutValidation("Idempotency-Keys", string.Join(',', keys));
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode) throw new HttpRequestException($"the target answered {(int)response.StatusCode}");
        }, cancellationToken);
    }

    // file: the connector's line shape, appended by one writer, fsync every ClaimBatch lines.
    private static async Task<double> PlainFileAsync(string path, string prefix, int n, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, 64 * 1024, FileOptions.None);
        return await LoopAsync("file", n, 1, ClaimBatch, async (from, count) =>
        {
            for (var i = from; i < from + count; i++)
            {
                var key = string.Create(CultureInfo.InvariantCulture, $"{prefix}{i}");
                var head = $"{{\"idempotencyKey\":\"plain:permit:{key}:1\",\"flow\":\"plain\",\"type\":\"{Permits.Type}\",\"entity\":\"permit\",\"key\":\"{key}\",\"version\":1,\"op\":\"upsert\",\"data\":";
                await stream.WriteAsync(Encoding.UTF8.GetBytes(head), cancellationToken);
                await stream.WriteAsync(DeliveryScenario.Body(key, i), cancellationToken);
                await stream.WriteAsync("}\n"u8.ToArray(), cancellationToken);
            }
            await stream.FlushAsync(cancellationToken);
            stream.Flush(flushToDisk: true);
        }, cancellationToken);
    }

    private static long CountLines(string path)
    {
        if (!File.Exists(path)) return 0;
        return File.ReadLines(path).LongCount();
    }

    // webhook: the connector's payload and Standard Webhooks headers, signed here with HMAC-SHA256.
    private async Task<double> PlainWebhookAsync(string secret, string prefix, int n, int workers, CancellationToken cancellationToken)
    {
        var hmacKey = Convert.FromBase64String(secret["whsec_".Length..]);
        using var client = Client(target.Url, workers);
        return await LoopAsync("webhook", n, workers, 1, async (i, _) =>
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"{prefix}{i}");
            var id = $"plain:permit:{key}:1";
            byte[] payload = [.. Encoding.UTF8.GetBytes($"{{\"type\":\"{Permits.Type}\",\"entity\":\"permit\",\"key\":\"{key}\",\"version\":1,\"op\":\"upsert\",\"data\":"),
                .. DeliveryScenario.Body(key, i), (byte)'}'];
            var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            byte[] signed = [.. Encoding.UTF8.GetBytes($"{id}.{timestamp}."), .. payload];
            using var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/plain") { Content = new ByteArrayContent(payload) };
            request.Content.Headers.ContentType = Json;
            request.Headers.TryAddWithoutValidation("webhook-id", id);
            request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp);
            request.Headers.TryAddWithoutValidation("webhook-signature", "v1," + Convert.ToBase64String(HMACSHA256.HashData(hmacKey, signed)));
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode) throw new HttpRequestException($"the receiver answered {(int)response.StatusCode}");
        }, cancellationToken);
    }

    // caldav: a fresh collection under the user (MKCALENDAR), one VEVENT PUT per record, deleted at the end.
    private async Task CalDavAsync(string server, int c, CancellationToken cancellationToken)
    {
        var user = Environment.GetEnvironmentVariable("LOCKSTEP_BENCH_CALDAV_USER") ?? Environment.GetEnvironmentVariable("LOCKSTEP_TEST_CALDAV_USER")
            ?? throw new ArgumentException("--caldav needs LOCKSTEP_BENCH_CALDAV_USER (or LOCKSTEP_TEST_CALDAV_USER) in the environment");
        var password = Environment.GetEnvironmentVariable("LOCKSTEP_BENCH_CALDAV_PASSWORD") ?? Environment.GetEnvironmentVariable("LOCKSTEP_TEST_CALDAV_PASSWORD")
            ?? throw new ArgumentException("--caldav needs LOCKSTEP_BENCH_CALDAV_PASSWORD (or LOCKSTEP_TEST_CALDAV_PASSWORD) in the environment");
        // The engine takes the password from the environment, as a deployment would.
        Environment.SetEnvironmentVariable("LOCKSTEP_BENCH_CALDAV_PASSWORD", password);
        var n = options.CalDavRecords;
        var warmup = Math.Max(1, n / 10);
        var root = server.EndsWith('/') ? server : server + "/";
        var id = Guid.NewGuid().ToString("N")[..8];
        using var client = Client(root, c);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        // Radicale answers one request per connection and then closes it; say so, or a reused connection fails at random.
        client.DefaultRequestHeaders.ConnectionClose = true;
        Console.Error.WriteLine($"[connectors] caldav: making two calendars under {root}{user}/");
        var plainUrl = await MakeCalendarAsync(client, $"{root}{user}/bench-plain-{id}/", cancellationToken);
        var engineUrl = await MakeCalendarAsync(client, $"{root}{user}/bench-{id}/", cancellationToken);
        try
        {
            await PlainCalDavAsync(client, plainUrl, "WPC-", warmup, c, cancellationToken);
            var plain = await PlainCalDavAsync(client, plainUrl, "PC-", n, c, cancellationToken);
            var plainResends = Interlocked.Exchange(ref _calDavResends, 0);
            var system = $"scheduler: {{ type: caldav, url: {engineUrl}, auth: {{ basic: {{ user: {user}, password: \"${{LOCKSTEP_BENCH_CALDAV_PASSWORD}}\" }} }}, concurrency: {c}, timeout: 30s }}";
            var map = "map: (p) => ({ summary: `Inspection ${p.id}`, start: '2026-12-01T09:00:00Z', durationMinutes: 60, location: p.owner.lastName, description: p.note })";
            var rate = await EngineAsync("caldav", system, Flow("permits-calendar", "scheduler", map), n, warmup,
                () => CountEventsAsync(client, engineUrl, cancellationToken), cancellationToken);
            report.Add(new ResultRow(
                $"(9d) caldav connector, {n:N0} records (fewer: Radicale is slow), one VEVENT PUT each (unbatched), JS map, concurrency {c}",
                $"{Report.Rate(rate)} records/s",
                $"plain HttpClient PUT of a hand-built VEVENT, {c} workers, no journal: {Report.Rate(plain)} records/s ({plainResends} resent after the server closed the connection unanswered)",
                Report.Percent(rate / plain), "(context)", "–"));
            report.Add(new ResultRow("(9d) batched caldav", "not supported (one PUT per event)", "–", "–", "–", "–"));
        }
        finally
        {
            foreach (var url in new[] { plainUrl, engineUrl })
            {
                using var response = await SendAsync(client, () => new HttpRequestMessage(HttpMethod.Delete, url), CancellationToken.None);
            }
        }
    }

    private static int _calDavResends;

    /// <summary>
    /// Sends a request to the CalDAV server, sending it again (up to 4 more times) when the server closed the connection
    /// without an answer, as Radicale here sometimes does; the resends are counted and reported.
    /// </summary>
    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, Func<HttpRequestMessage> make, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = make();
            try
            {
                return await client.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException e) when (e.InnerException is HttpIOException && attempt < 5)
            {
                Interlocked.Increment(ref _calDavResends);
            }
        }
    }

    private static async Task<string> MakeCalendarAsync(HttpClient client, string url, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(client, () => new HttpRequestMessage(new HttpMethod("MKCALENDAR"), url), cancellationToken);
        if (response.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"MKCALENDAR answered {(int)response.StatusCode}");
        return url;
    }

    private static async Task<double> PlainCalDavAsync(HttpClient client, string calendar, string prefix, int n, int workers, CancellationToken cancellationToken) =>
        await LoopAsync("caldav", n, workers, 1, async (i, _) =>
        {
            var uid = string.Create(CultureInfo.InvariantCulture, $"plain-{prefix}{i}");
            var ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Lockstep bench//EN\r\nBEGIN:VEVENT\r\n" +
                $"UID:{uid}\r\nDTSTAMP:20261123T000000Z\r\nDTSTART:20261201T090000Z\r\nDTEND:20261201T100000Z\r\n" +
                $"SUMMARY:Inspection {prefix}{i}\r\nLOCATION:Lovelace {i % 997}\r\nDESCRIPTION:benchmark record\r\nSEQUENCE:1\r\n" +
                "END:VEVENT\r\nEND:VCALENDAR\r\n";
            using var response = await SendAsync(client, () => new HttpRequestMessage(HttpMethod.Put, calendar + uid + ".ics") { Content = new StringContent(ics, Encoding.UTF8, "text/calendar") }, cancellationToken);
            if (!response.IsSuccessStatusCode) throw new HttpRequestException($"the CalDAV server answered {(int)response.StatusCode}");
        }, cancellationToken);

    /// <summary>How many events the collection holds (PROPFIND, depth 1).</summary>
    private static async Task<long> CountEventsAsync(HttpClient client, string calendar, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(client, () =>
        {
            var request = new HttpRequestMessage(new HttpMethod("PROPFIND"), calendar);
            request.Headers.Add("Depth", "1");
            return request;
        }, cancellationToken);
        var xml = await response.Content.ReadAsStringAsync(cancellationToken);
        return IcsHref().Count(xml);
    }

    [GeneratedRegex(@"\.ics</(?:[A-Za-z]+:)?href>")]
    private static partial Regex IcsHref();
}
