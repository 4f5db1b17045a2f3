using System.Diagnostics;
using System.Globalization;
using System.Text;
using Lockstep.Gauntlet.Checking;
using Lockstep.Gauntlet.Reporting;
using Lockstep.Gauntlet.Running;
using Lockstep.Gauntlet.Schedules;
using Lockstep.Gauntlet.Targets;

namespace Lockstep.Gauntlet;

internal sealed record ScheduleResult(bool Passed, int Divergences, long RecordsChecked, int Events, FaultCounts Faults);

/// <summary>One schedule from seed to verdict, with the failure report when it diverges.</summary>
internal static class GauntletRun
{
    /// <summary>A hard bound on one schedule, whatever hangs.</summary>
    private static readonly TimeSpan ScheduleLimit = TimeSpan.FromMinutes(4);

    public static async Task<ScheduleResult> RunAsync(int seed, TimeSpan convergeLimit)
    {
        var clock = Stopwatch.StartNew();
        var schedule = ScheduleGenerator.Generate(seed);
        var model = new Model(schedule);
        await using var run = new ScheduleRun(schedule, convergeLimit);
        var checker = new Checker(schedule, model, run);
        var errors = new List<Divergence>();
        var work = RunChecksAsync();
        if (await Task.WhenAny(work, Task.Delay(ScheduleLimit, TimeProvider.System)) != work)
            errors.Add(new Divergence("timeout", null, $"the schedule did not finish within {ScheduleLimit.TotalMinutes:0} minutes"));
        else if (await work is { } error)
            errors.Add(error);

        var all = errors.Concat(checker.Divergences).ToList();
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"{schedule.Events.Count} events ({schedule.Events.Count(e => e.Webhook)} pushed to the webhook source), {model.Newest.Count} records, {run.Starts} starts, faults: {run.Faults}, {clock.Elapsed.TotalSeconds:0.0}s");
        if (all.Count == 0)
        {
            Console.WriteLine($"seed {seed}: ok ({summary})");
            await run.DisposeAsync();
            run.DeleteFolder();
        }
        else
        {
            Console.WriteLine(await ReportAsync(schedule, model, run, all, summary));
        }
        return new ScheduleResult(all.Count == 0, all.Count, checker.RecordsChecked, schedule.Events.Count, run.Faults);

        async Task<Divergence?> RunChecksAsync()
        {
            try
            {
                await run.ExecuteAsync(model);
                await checker.CheckAsync(convergeLimit);
                return null;
            }
            catch (DivergenceException e)
            {
                return new Divergence(e.Kind, e.Key, e.Message);
            }
            catch (Exception e)
            {
                return new Divergence("error", null, $"{e.GetType().Name}: {e.Message}");
            }
        }
    }

    private static async Task<string> ReportAsync(Schedule schedule, Model model, ScheduleRun run, List<Divergence> divergences, string summary)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"seed {schedule.Seed}: FAILED ({summary})\n");
        text.Append(CultureInfo.InvariantCulture, $"  replay: tests/gauntlet.sh --seed {schedule.Seed}\n");
        text.Append(CultureInfo.InvariantCulture, $"  journal and config kept in {run.Folder}\n");
        text.Append(CultureInfo.InvariantCulture, $"  {divergences.Count} divergence(s): ")
            .Append(string.Join(", ", divergences.GroupBy(d => d.Kind).Select(g => $"{g.Key} {g.Count()}"))).Append('\n');
        // Those about one record first: they lead to the history printed below.
        divergences = [.. divergences.OrderBy(d => d.Key is null)];
        foreach (var d in divergences.Take(10)) text.Append(CultureInfo.InvariantCulture, $"    [{d.Kind}] {d.Key ?? "-"}: {d.Detail}\n");
        if (divergences.Count > 10) text.Append(CultureInfo.InvariantCulture, $"    … and {divergences.Count - 10} more\n");
        text.Append("  schedule:\n").Append(Indent(schedule.Describe(), "    "));

        if (divergences.FirstOrDefault(d => d.Key is not null)?.Key is { } key)
        {
            text.Append(CultureInfo.InvariantCulture, $"  first diverging record: {Schedule.Entity}/{key}\n");
            text.Append("    published (in order):\n");
            foreach (var e in schedule.Events.Where(e => e.Key == key))
                text.Append(CultureInfo.InvariantCulture, $"      {e.Describe()} → {model.IntakeOf(e)}{(run.Acknowledged.Contains(e.Index) ? ", acknowledged" : ", NOT acknowledged")}\n");
            foreach (var target in run.TargetServers.Where(t => t is not null))
            {
                text.Append(CultureInfo.InvariantCulture, $"    at {TargetNames.Name(target.Index)} (arrival order):\n");
                foreach (var request in target.Log().Where(r => r.Key == key).OrderBy(r => r.Sequence))
                    text.Append("      ").Append(request.Describe()).Append('\n');
            }
            try
            {
                var history = await run.Http.GetStringAsync($"{run.Lockstep.Url}/api/records/{Schedule.Entity}/{Uri.EscapeDataString(key)}/history");
                text.Append("    lockstep's history: ").Append(history.Length > 4000 ? history[..4000] + "…" : history).Append('\n');
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
            {
                text.Append(CultureInfo.InvariantCulture, $"    lockstep's history: unavailable ({e.Message})\n");
            }
        }
        try
        {
            text.Append("  lockstep's last output:\n").Append(Indent(run.Lockstep.Tail(), "    "));
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
        return text.ToString();
    }

    private static string Indent(string text, string prefix) =>
        string.Concat(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => prefix + line + "\n"));
}
