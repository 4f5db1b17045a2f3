using System.Globalization;
using System.Text.Json;
using Lockstep.Events;
using Lockstep.Records;

namespace Lockstep.Cli.Demo;

/// <summary>
/// Sample permit events: several versions per permit, shuffled so some older versions arrive after newer ones, some
/// sent twice, some permits ending revoked (a delete). <see cref="Expected"/> is what the registry must end up holding.
/// </summary>
internal static class DemoPermits
{
    public static (List<Event> Events, Dictionary<string, long> Expected) Generate(int permits, int seed)
    {
        var random = new Random(seed);
        var events = new List<Event>();
        var expected = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 1; i <= permits; i++)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"P-{1000 + i}");
            var versions = random.Next(1, 5);
            var revoked = random.NextDouble() < 0.1;
            for (var version = 1; version <= versions; version++)
            {
                var delete = revoked && version == versions;
                events.Add(Permit(key, version, delete, random));
            }
            if (!revoked) expected[key] = versions;
        }
        var shuffled = events.OrderBy(_ => random.Next()).ToList();
        var resent = shuffled.Where(_ => random.NextDouble() < 0.05).ToList();
        shuffled.AddRange(resent);
        return (shuffled, expected);
    }

    public static Event Permit(string key, long version, bool delete, Random random)
    {
        var data = JsonSerializer.Serialize(new
        {
            id = key,
            status = delete ? "revoked" : "approved",
            rev = version,
            owner = new { firstName = First[random.Next(First.Length)], lastName = Last[random.Next(Last.Length)] },
            location = new { lat = Math.Round(45 + random.NextDouble(), 5), lng = Math.Round(-73 - random.NextDouble(), 5) },
        });
        return new Event($"permit:{key}:{version}", delete ? "permitRevoked" : "permitApproved", "permit", key, version,
            delete ? RecordOp.Delete : RecordOp.Upsert, data);
    }

    private static readonly string[] First = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus"];
    private static readonly string[] Last = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Torvalds"];
}
