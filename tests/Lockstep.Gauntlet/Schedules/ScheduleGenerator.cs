using System.Globalization;

namespace Lockstep.Gauntlet.Schedules;

/// <summary>Draws a schedule from <c>new Random(seed)</c> only, so a seed always gives the same schedule.</summary>
internal static class ScheduleGenerator
{
    private static readonly string[] KeyShapes = ["K-{0}", "rec.{0}", "Item_{0}", "x{0}y", "ORD-{0}-A"];

    public static Schedule Generate(int seed)
    {
        var random = new Random(seed);
        var events = Events(random, seed);
        var steps = Steps(random, events);
        return new Schedule(seed, events, steps);
    }

    private static List<EventSpec> Events(Random random, int seed)
    {
        var keys = random.Next(15, 51);
        var originals = new List<EventSpec>();
        var nextId = 0;
        string? Id() => random.NextDouble() < 0.5 ? null : string.Create(CultureInfo.InvariantCulture, $"g{seed}-e{nextId++}");

        for (var k = 0; k < keys; k++)
        {
            var key = string.Format(CultureInfo.InvariantCulture, KeyShapes[k % KeyShapes.Length], k);
            // A few hot records with many versions; most with a handful.
            var count = random.NextDouble() < 0.1 ? random.Next(8, 16) : random.Next(1, 7);
            var endsDeleted = random.NextDouble() < 0.15;
            var poison = !endsDeleted && random.NextDouble() < 0.06;
            long version = random.Next(1, 4);
            for (var v = 0; v < count; v++)
            {
                var last = v == count - 1;
                // A delete in the middle: the record is created again by a later version.
                var delete = last ? endsDeleted : random.NextDouble() < 0.08;
                var isPoison = last && poison;
                // Some arrive as signed pushes to the webhook source: they always carry an id (their webhook-id).
                var webhook = random.NextDouble() < 0.12;
                var id = webhook ? string.Create(CultureInfo.InvariantCulture, $"g{seed}-w{nextId++}") : Id();
                originals.Add(new EventSpec(0, id, key, version, delete, delete ? null : Data(random, key, version, isPoison), isPoison, webhook));
                version += random.Next(1, 4);
            }
        }

        // Shuffled: versions of a record arrive in any order; older ones after newer ones are stale.
        var shuffled = originals.OrderBy(_ => random.Next()).ToList();
        var extras = new List<(int After, EventSpec Event)>();
        for (var i = 0; i < shuffled.Count; i++)
        {
            var e = shuffled[i];
            // The same event sent again (a client retry): a duplicate.
            if (random.NextDouble() < 0.08) extras.Add((random.Next(i, shuffled.Count), e));
            // The same version under a new id with other content: stale, must not replace what was accepted.
            if (!e.Delete && !e.Poison && random.NextDouble() < 0.03)
            {
                extras.Add((random.Next(i, shuffled.Count), e with
                {
                    Id = string.Create(CultureInfo.InvariantCulture, $"g{seed}-{(e.Webhook ? "w" : "e")}{nextId++}"),
                    Data = Data(random, e.Key, e.Version, poison: false),
                }));
            }
        }
        var ordered = new List<EventSpec>();
        for (var i = 0; i < shuffled.Count; i++)
        {
            ordered.Add(shuffled[i]);
            ordered.AddRange(extras.Where(x => x.After == i).Select(x => x.Event));
        }
        return ordered.Select((e, i) => e with { Index = i }).ToList();
    }

    private static string Data(Random random, string key, long version, bool poison)
    {
        var tags = string.Join(',', Enumerable.Range(0, random.Next(0, 4)).Select(_ => $"\"t{random.Next(100)}\""));
        var reject = poison ? ",\"reject\":true" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"key\":\"{key}\",\"rev\":{version},\"n\":{random.Next(1_000_000)},\"tags\":[{tags}],\"nested\":{{\"ok\":{(random.Next(2) == 0 ? "true" : "false")}}}{reject}}}");
    }

    private static List<Step> Steps(Random random, List<EventSpec> events)
    {
        var steps = new List<Step>();
        var kills = 0;
        var stops = 0;
        var maxKills = random.Next(0, 3);
        var maxStops = random.Next(0, 3);
        // Bounded, so a schedule takes seconds whatever its number of steps.
        var windows = 0;
        var maxWindows = random.Next(3, 9);
        var quiets = 0;
        var i = 0;
        while (i < events.Count)
        {
            // Bursts (big arrays), small arrays and single events.
            var shape = random.NextDouble();
            var size = shape < 0.25 ? 1 : shape < 0.7 ? random.Next(2, 11) : random.Next(20, 81);
            size = Math.Min(size, events.Count - i);
            // A webhook push carries one event: an array stops before one.
            if (events[i].Webhook) size = 1;
            else size = Enumerable.Range(i, size).TakeWhile(j => !events[j].Webhook).Count();
            steps.Add(new PublishStep(Enumerable.Range(i, size).ToList(), AsArray: !events[i].Webhook && (size > 1 || random.Next(2) == 0)));
            i += size;

            var roll = random.NextDouble();
            if (roll < 0.40 && windows++ >= maxWindows)
            {
                // No more fault windows in this schedule.
            }
            else if (roll < 0.22)
            {
                var fault = (ProxyFault)random.Next(4);
                steps.Add(new ProxyFaultStep(random.Next(2), fault, fault == ProxyFault.Outage ? 1.0 : Rate(random), random.Next(300, 2001)));
            }
            else if (roll < 0.40)
                steps.Add(new TargetFaultStep(random.Next(2), (TargetFault)random.Next(3), Rate(random), random.Next(300, 2001)));
            else if (roll < 0.47 && kills < maxKills)
            {
                steps.Add(new KillStep(random.Next(0, 501)));
                kills++;
            }
            else if (roll < 0.53 && stops < maxStops)
            {
                steps.Add(new StopStep(random.Next(200, 2001)));
                stops++;
            }
            // Bursts and quiet periods: publishing spreads over the fault windows.
            if (random.NextDouble() < 0.45 && quiets++ < 10) steps.Add(new QuietStep(random.Next(50, 601)));
        }
        return steps;
    }

    private static double Rate(Random random) => random.NextDouble() < 0.3 ? 1.0 : 0.2 + (random.NextDouble() * 0.6);
}
