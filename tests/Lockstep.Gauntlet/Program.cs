using System.Diagnostics;
using System.Globalization;
using Lockstep.Gauntlet;
using Lockstep.Gauntlet.Checking;
using Lockstep.Gauntlet.Reporting;
using Lockstep.Gauntlet.Running;
using Lockstep.Gauntlet.Schedules;

// The convergence gauntlet (README "Gauntlet"): seeded schedules of random events and faults against the real
// lockstep process; every divergence prints the seed, the schedule and the first diverging record's history.
const string Usage = """
    usage: Lockstep.Gauntlet [--seed N | --schedules N [--from N]] [--time-limit SECONDS] [--converge-limit SECONDS]
      --seed N             run the one schedule of seed N (replays its events and faults; process timing is real)
      --schedules N        run N schedules, seeds --from (default 1) upwards
      --time-limit S       start no schedule after S seconds (default 3600); schedules left unrun count as failed
      --converge-limit S   how long a schedule may take to converge after its faults stop (default 60)
    """;

int? seed = null;
var schedules = 1;
var from = 1;
var timeLimit = TimeSpan.FromHours(1);
var convergeLimit = TimeSpan.FromSeconds(60);
for (var i = 0; i < args.Length; i++)
{
    int Next() => i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
        ? n
        : throw new ArgumentException($"{args[i]} needs a whole number");
    try
    {
        switch (args[i])
        {
            case "--seed": seed = Next(); break;
            case "--schedules": schedules = Math.Max(1, Next()); break;
            case "--from": from = Next(); break;
            case "--time-limit": timeLimit = TimeSpan.FromSeconds(Next()); break;
            case "--converge-limit": convergeLimit = TimeSpan.FromSeconds(Math.Max(1, Next())); break;
            case "--help" or "-h":
                Console.WriteLine(Usage);
                return 0;
            default: throw new ArgumentException($"unknown option {args[i]}");
        }
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine(e.Message);
        Console.Error.WriteLine(Usage);
        return 1;
    }
}

var seeds = seed is { } one ? [one] : Enumerable.Range(from, schedules).ToArray();
var clock = Stopwatch.StartNew();
var faults = new FaultCounts();
int passed = 0, failed = 0, unrun = 0, divergences = 0;
long records = 0, events = 0;
foreach (var s in seeds)
{
    if (clock.Elapsed > timeLimit)
    {
        unrun++;
        continue;
    }
    var result = await GauntletRun.RunAsync(s, convergeLimit);
    faults.AddAll(result.Faults);
    records += result.RecordsChecked;
    events += result.Events;
    divergences += result.Divergences;
    if (result.Passed) passed++;
    else failed++;
}
if (unrun > 0) Console.WriteLine($"gauntlet: {unrun} schedule(s) not run: the time limit of {timeLimit.TotalSeconds:0}s was reached");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"gauntlet: {seeds.Length} schedules (seeds {seeds[0]}..{seeds[^1]}), {passed} passed, {failed + unrun} failed; {events} events; faults injected: {faults}; records checked {records}; divergences {divergences}; {clock.Elapsed.TotalSeconds:0}s"));
return failed + unrun == 0 ? 0 : 1;
