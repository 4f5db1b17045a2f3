using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Lockstep.Tests.Support;
using MySqlConnector;

namespace Lockstep.Tests.EndToEnd;

/// <summary>
/// Issue 13's acceptance example, its CRM half as written (apart from ports), run as the real program: hundreds of
/// contacts with several versions each, shuffled, some deleted, published while the CRM (which assigns its own ids)
/// answers 503 to a fifth of requests and times out some creates after applying them, and while Lockstep is killed
/// with SIGKILL. The second flow writes to the MariaDB of tests/services.sh, as the example says (in the MariaDB tests'
/// collection: those stop and kill the server).
/// </summary>
[Collection("MariaDB")]
public sealed class IdentityAcceptanceTests
{
    private const string Token = "crm-tok-81d2c0f7e64b";

    private const string Example = """
        storage: sqlite:data/lockstep.db
        systems:
          crm:
            type: http
            url: http://127.0.0.1:9002
            auth: { bearer: ${CRM_TOKEN} }
          records:
            type: mysql
            connection: ${RECORDS_DB}
        flows:
          contacts-to-crm:
            on: [contactChanged]
            to: crm
            map: (c, r) => ({ externalKey: r.key, email: c.email, name: c.name })
            lookup: GET /api/contacts?externalKey={key}
            lookupId: $.items[0].id
            create: POST /api/contacts
            createId: $.id
            update: PUT /api/contacts/{targetId}
            delete: DELETE /api/contacts/{targetId}
            retry: { maxAttempts: 30, initialDelay: 50ms, maxDelay: 1s }
          contacts-to-records:
            on: [contactChanged]
            to: records
            table: contacts
            key: contact_id
            map: (c, r) => ({ contact_id: r.key, email: c.email, name: c.name, version: r.version })
        """;

    [Fact]
    public async Task Exactly_one_contact_per_live_key_with_its_newest_state_through_503s_lost_creates_and_sigkills()
    {
        using var folder = new TempFolder();
        await using var crm = await CrmServer.StartAsync(failureRate: 0.2, timeoutCreateRate: 0.1, seed: 13, token: Token);
        crm.ResetNextCreates = 5;
        await ExecuteAsync("DROP TABLE IF EXISTS contacts");
        await ExecuteAsync("CREATE TABLE contacts(contact_id VARCHAR(64) NOT NULL PRIMARY KEY, email TEXT, name TEXT, version BIGINT NOT NULL)");
        var configPath = Path.Combine(folder.Path, "lockstep.yaml");
        await File.WriteAllTextAsync(configPath, Example.Replace("http://127.0.0.1:9002", crm.Url, StringComparison.Ordinal));
        var environment = new Dictionary<string, string> { ["CRM_TOKEN"] = Token, ["RECORDS_DB"] = TestServers.MySql };
        await using var lockstep = new LockstepProcess(configPath, environment);
        await lockstep.StartAsync();
        var (batches, expected) = Events(contacts: 300, seed: 7);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var kills = 0;
        for (var i = 0; i < batches.Count; i++)
        {
            var before = crm.Requests.Count;
            await PublishAsync(http, lockstep.Url, batches[i]);
            if (i is 2 or 5 or 8)
            {
                // Killed right after an accepted publish, with lookups, creates and updates of its events under way.
                await Eventually.WaitAsync(() => crm.Requests.Count > before + 10, "deliveries under way", signal: crm.Changed);
                await lockstep.KillAsync();
                kills++;
                await lockstep.StartAsync();
            }
        }
        await Eventually.WaitAsync(async () => (await Status(http, lockstep.Url)).GetProperty("state").GetString() == "synced", "synced", TimeSpan.FromMinutes(4),
            describe: async () => (await Status(http, lockstep.Url)).ToString());
        var rows = await RowsAsync();
        var status = await http.GetStringAsync($"{lockstep.Url}/api/status");
        var someKey = expected.First().Key;
        var history = await http.GetStringAsync($"{lockstep.Url}/api/records/contact/{someKey}/history");

        Assert.Equal(3, kills);
        Assert.True(crm.InjectedFailures > 100, $"{crm.InjectedFailures} injected 503s");
        Assert.True(crm.CutOffCreates > 10, $"{crm.CutOffCreates} creates applied without an answer");
        Assert.Equal(expected.Count, crm.Contacts.Count);
        foreach (var (key, version) in expected)
        {
            var held = Assert.Single(crm.ByKey(key));
            Assert.Equal($"{key} v{version}", (string?)held["name"]);
            Assert.Equal(($"{key} v{version}", version), rows[key]);
        }
        Assert.Equal(expected.Count, rows.Count);
        Assert.Contains($"\"contacts-to-crm\":\"{(string?)crm.ByKey(someKey)[0]["id"]}\"", history, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, status, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, lockstep.Output, StringComparison.Ordinal);
    }

    /// <summary>Arrays of 100 events: up to 5 versions per contact, shuffled, 5% sent twice, a tenth ending in a delete.</summary>
    private static (List<string> Batches, Dictionary<string, long> Expected) Events(int contacts, int seed)
    {
        var random = new Random(seed);
        var events = new List<string>();
        var expected = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var c = 0; c < contacts; c++)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"C-{1000 + c}");
            var versions = random.Next(1, 6);
            var deleted = random.NextDouble() < 0.1;
            for (var v = 1; v <= versions; v++)
            {
                events.Add(deleted && v == versions
                    ? $$"""{"type":"contactChanged","entity":"contact","key":"{{key}}","version":{{v}},"op":"delete"}"""
                    : $$$"""{"type":"contactChanged","entity":"contact","key":"{{{key}}}","version":{{{v}}},"data":{"email":"{{{key.ToLowerInvariant()}}}@example.org","name":"{{{key}}} v{{{v}}}"}}""");
            }
            if (!deleted) expected[key] = versions;
        }
        var shuffled = events.OrderBy(_ => random.Next()).ToList();
        shuffled.AddRange(shuffled.Where(_ => random.NextDouble() < 0.05).ToList());
        return ([.. shuffled.Chunk(100).Select(chunk => "[" + string.Join(',', chunk) + "]")], expected);
    }

    private static async Task PublishAsync(HttpClient http, string url, string body)
    {
        // A publish cut off by a kill is sent again: its event ids make the resend a duplicate, never a second event.
        await Eventually.WaitAsync(async () =>
        {
            try
            {
                using var content = new StringContent(body, Encoding.UTF8, "application/json");
                using var response = await http.PostAsync($"{url}/api/events", content);
                Assert.True(response.StatusCode is HttpStatusCode.Accepted, $"publish answered {response.StatusCode}");
                return true;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "publish accepted");
    }

    private static async Task<JsonElement> Status(HttpClient http, string url)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync($"{url}/api/status"));
        return document.RootElement.Clone();
    }

    private static async Task ExecuteAsync(string sql)
    {
        await using var connection = new MySqlConnection(TestServers.MySql + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<Dictionary<string, (string Name, long Version)>> RowsAsync()
    {
        await using var connection = new MySqlConnection(TestServers.MySql + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT contact_id, name, version FROM contacts";
        var rows = new Dictionary<string, (string, long)>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows[reader.GetString(0)] = (reader.GetString(1), reader.GetInt64(2));
        return rows;
    }
}
