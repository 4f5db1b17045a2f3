using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Lockstep.Tests.Connectors.Sql;
using Lockstep.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lockstep.Tests.EndToEnd;

/// <summary>
/// The connectors issue's acceptance example (seed use case 1), as written apart from ports and the connection string,
/// run as the real program: permits reach a REST registry (answering 503 to some requests), a CalDAV calendar on
/// Radicale and a PostGIS table on PostgreSQL, which is stopped and started again in the middle of the run.
/// </summary>
[Collection("PostgreSQL")]
public sealed class ConnectorsAcceptanceTests
{
    public const string Example = """
        storage: sqlite:data/lockstep.db
        systems:
          registry:
            type: http
            url: http://127.0.0.1:7001
            auth: { apiKey: { header: X-Api-Key, value: "${REGISTRY_KEY}" } }
          scheduler:
            type: caldav
            url: http://127.0.0.1:5232/lockstep/inspections/
            auth: { basic: { user: lockstep, password: "${CALDAV_PASSWORD}" } }
          gis:
            type: postgres
            connection: "${GIS_DB}"
        flows:
          permit-registry:
            on: [permitApproved, permitRevoked]
            to: registry
            map: (p) => ({ registryId: p.id, applicantName: `${p.owner.firstName} ${p.owner.lastName}`, status: p.status })
            upsert: PUT /api/records/{key}
            delete: DELETE /api/records/{key}
          permit-inspection:
            on: [permitApproved, permitRevoked]
            to: scheduler
            map: (p) => ({ summary: `Inspection ${p.id}`, start: p.inspectionAt, durationMinutes: 60, location: p.address })
          permit-map:
            on: [permitApproved, permitRevoked]
            to: gis
            table: permits
            key: permit_id
            map: (p) => ({ permit_id: p.id, status: p.status, geom: { lat: p.location.lat, lon: p.location.lng } })
        """;

    private const int Permits = 60;

    [Fact]
    public async Task Permits_converge_in_the_registry_the_calendar_and_PostGIS_through_503s_and_a_database_restart()
    {
        using var folder = new TempFolder();
        var registryKey = "reg-" + Guid.NewGuid().ToString("N")[..16];
        var records = new ConcurrentDictionary<string, string>();
        var requests = 0;
        var unauthorized = 0;
        await using var registry = await PartnerServer.StartAsync(app =>
        {
            IResult? Refuse(HttpContext context)
            {
                if (context.Request.Headers["X-Api-Key"] != registryKey)
                {
                    Interlocked.Increment(ref unauthorized);
                    return Results.StatusCode(401);
                }
                return Interlocked.Increment(ref requests) % 5 == 0 ? Results.StatusCode(503) : null; // every fifth request fails
            }
            app.MapPut("/api/records/{key}", async (string key, HttpContext context) =>
            {
                var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
                if (Refuse(context) is { } refused) return refused;
                records[key] = body;
                return Results.NoContent();
            });
            app.MapDelete("/api/records/{key}", (string key, HttpContext context) =>
            {
                if (Refuse(context) is { } refused) return refused;
                return records.TryRemove(key, out _) ? Results.NoContent() : Results.NotFound();
            });
        });
        using var calendar = await RadicaleCalendar.CreateAsync();
        // The table exists beforehand, as the example says; a schema of its own keeps it apart from other tests.
        var schema = SqlTestKit.Table("acc");
        await SqlTestKit.PgAsync($"CREATE SCHEMA {schema}; CREATE TABLE {schema}.permits (permit_id text PRIMARY KEY, status text, geom geometry(Point, 4326), version bigint)");
        var environment = new Dictionary<string, string>
        {
            ["REGISTRY_KEY"] = registryKey,
            ["CALDAV_PASSWORD"] = TestServers.CalDavPassword,
            ["GIS_DB"] = $"{TestServers.Postgres};Search Path={schema},public;Options=-c synchronous_commit=on",
        };
        var configPath = Path.Combine(folder.Path, "lockstep.yaml");
        await File.WriteAllTextAsync(configPath, Example
            .Replace("http://127.0.0.1:7001", registry.Url, StringComparison.Ordinal)
            .Replace("http://127.0.0.1:5232/lockstep/inspections/", calendar.Url, StringComparison.Ordinal)
            .Replace("user: lockstep", $"user: {TestServers.CalDavUser}", StringComparison.Ordinal));
        await using var lockstep = new LockstepProcess(configPath, environment);
        await lockstep.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        // Every permit approved; then a third revised (twice for some) and a tenth revoked, with PostgreSQL down meanwhile.
        var expected = new Dictionary<string, (int Version, string Status, double Lat, double Lng)>();
        await PublishAsync(http, lockstep.Url, Enumerable.Range(1, Permits).Select(i => Permit(i, 1, "approved", expected)));
        await Eventually.WaitAsync(async () => await CountRowsAsync(schema) > 0, "the first rows in PostGIS", TimeSpan.FromMinutes(1));
        await TestServers.ControlAsync("PG", "stop");
        try
        {
            await PublishAsync(http, lockstep.Url, Enumerable.Range(1, Permits).Where(i => i % 3 == 0).Select(i => Permit(i, 2, "revised", expected)));
            await PublishAsync(http, lockstep.Url, Enumerable.Range(1, Permits).Where(i => i % 6 == 0).Select(i => Permit(i, 3, "inspected", expected)));
            await PublishAsync(http, lockstep.Url, Enumerable.Range(1, Permits).Where(i => i % 10 == 0).Select(i => Revoke(i, 4, expected)));
            await Eventually.WaitAsync(async () => (await StatusAsync(http, lockstep.Url)).GetProperty("systems").GetProperty("gis").GetProperty("pending").GetInt32() > 0,
                "deliveries to PostGIS waiting while it is down");
        }
        finally
        {
            await TestServers.ControlAsync("PG", "start");
        }
        await Eventually.WaitAsync(async () => (await StatusAsync(http, lockstep.Url)).GetProperty("state").GetString() == "synced", "synced", TimeSpan.FromMinutes(3));
        var status = (await StatusAsync(http, lockstep.Url)).ToString();

        var live = expected.Where(p => p.Value.Status != "revoked").ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(Permits - Permits / 10, live.Count);
        // The registry: one record per live permit with the mapped fields, nothing for revoked ones.
        Assert.Equal(live.Keys.Order(StringComparer.Ordinal), records.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, permit) in live)
        {
            var held = JsonDocument.Parse(records[key]).RootElement;
            Assert.Equal((key, "Ada Lovelace", permit.Status), (held.GetProperty("registryId").GetString(), held.GetProperty("applicantName").GetString(), held.GetProperty("status").GetString()));
        }
        // The calendar: one event per live permit, UID permit-{key}, at the inspection time, for 60 minutes.
        var events = await calendar.ListAsync();
        Assert.Equal(live.Count, events.Count);
        foreach (var key in live.Keys)
        {
            var ics = await calendar.GetAsync($"permit-{key}");
            Assert.NotNull(ics);
            Assert.Equal($"permit-{key}", RadicaleCalendar.Property(ics, "UID"));
            Assert.Equal($"Inspection {key}", RadicaleCalendar.Property(ics, "SUMMARY"));
            Assert.StartsWith("20261201T", RadicaleCalendar.Property(ics, "DTSTART"), StringComparison.Ordinal);
        }
        // PostGIS: one row per live permit, with the right point and the newest version.
        var rows = await SqlTestKit.PgRowsAsync($"SELECT permit_id, status, ST_Y(geom), ST_X(geom), ST_SRID(geom), version FROM {schema}.permits");
        Assert.Equal(live.Count, rows.Count);
        foreach (var row in rows)
        {
            var permit = live[(string)row[0]!];
            Assert.Equal(permit.Status, row[1]);
            Assert.Equal(permit.Lat, (double)row[2]!, 9);
            Assert.Equal(permit.Lng, (double)row[3]!, 9);
            Assert.Equal(4326, row[4]);
            Assert.Equal((long)permit.Version, row[5]);
        }
        Assert.True(requests / 5 >= 10, "the registry failed some requests with 503");
        Assert.Equal(0, unauthorized);
        foreach (var secret in new[] { registryKey, TestServers.CalDavPassword, "Password=lockstep" })
        {
            Assert.DoesNotContain(secret, lockstep.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, status, StringComparison.Ordinal);
        }
    }

    private static string Permit(int i, int version, string status, Dictionary<string, (int, string, double, double)> expected)
    {
        var key = $"P-{i:D3}";
        var (lat, lng) = (45 + i / 1000.0, -73 - i / 1000.0);
        expected[key] = (version, status, lat, lng);
        return JsonSerializer.Serialize(new
        {
            id = $"{key}:{version}",
            type = "permitApproved",
            entity = "permit",
            key,
            version,
            data = new
            {
                id = key,
                status,
                owner = new { firstName = "Ada", lastName = "Lovelace" },
                inspectionAt = $"2026-12-01T{8 + i % 9:D2}:00:00Z",
                address = $"{i} Main St",
                location = new { lat, lng },
            },
        });
    }

    private static string Revoke(int i, int version, Dictionary<string, (int Version, string Status, double Lat, double Lng)> expected)
    {
        var key = $"P-{i:D3}";
        expected[key] = expected[key] with { Version = version, Status = "revoked" };
        return JsonSerializer.Serialize(new { id = $"{key}:{version}", type = "permitRevoked", entity = "permit", key, version, op = "delete" });
    }

    private static async Task PublishAsync(HttpClient http, string url, IEnumerable<string> events)
    {
        using var content = new StringContent("[" + string.Join(',', events) + "]", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync($"{url}/api/events", content);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private static async Task<JsonElement> StatusAsync(HttpClient http, string url) =>
        JsonDocument.Parse(await http.GetStringAsync($"{url}/api/status")).RootElement.Clone();

    private static async Task<long> CountRowsAsync(string schema) =>
        (long)(await SqlTestKit.PgRowsAsync($"SELECT count(*) FROM {schema}.permits"))[0][0]!;
}
