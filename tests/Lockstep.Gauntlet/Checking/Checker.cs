using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lockstep.Gauntlet.Running;
using Lockstep.Gauntlet.Schedules;
using Lockstep.Gauntlet.Targets;

namespace Lockstep.Gauntlet.Checking;

/// <summary>A broken guarantee: its kind, the record it concerns (when one), and what was seen.</summary>
internal sealed record Divergence(string Kind, string? Key, string Detail);

/// <summary>
/// The checks once faults have stopped, each against the model of the schedule: end state, history, idempotency,
/// acknowledged events, dead letters, completion events, status.
/// </summary>
internal sealed class Checker(Schedule schedule, Model model, ScheduleRun run)
{
    private readonly List<Divergence> _divergences = [];

    public IReadOnlyList<Divergence> Divergences => _divergences;

    public int RecordsChecked { get; private set; }

    public async Task CheckAsync(TimeSpan convergeLimit)
    {
        foreach (var mismatch in run.IntakeMismatches) Add("intake-counts", null, mismatch);
        if (!await QuiescentAsync(convergeLimit)) return;

        for (var t = 0; t < run.TargetServers.Count; t++)
        {
            var target = run.TargetServers[t];
            var log = target.Log();
            EndState(target);
            History(target, log);
            Applied(target, log);
        }
        RecordsChecked = model.Newest.Count * run.TargetServers.Count;
        await AcknowledgedAsync();
        var dead = await DeadLettersAsync();
        await CompletionsAsync();
        await SyncedAfterDroppingAsync(dead);
    }

    /// <summary>Nothing pending or in flight anywhere, seen twice in a row, within the limit.</summary>
    private async Task<bool> QuiescentAsync(TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        var quiet = 0;
        var last = "";
        while (clock.Elapsed < limit)
        {
            try
            {
                last = await run.Http.GetStringAsync($"{run.Lockstep.Url}/api/status");
                using var status = JsonDocument.Parse(last);
                var busy = status.RootElement.GetProperty("flows").EnumerateObject()
                    .Sum(f => f.Value.GetProperty("pending").GetInt64() + f.Value.GetProperty("inFlight").GetInt64());
                quiet = busy == 0 ? quiet + 1 : 0;
                if (quiet >= 2) return true;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                quiet = 0;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System);
        }
        Add("not-converged", null, $"still pending or in flight {limit.TotalSeconds:0}s after the faults stopped; status: {Truncate(last, 1500)}");
        return false;
    }

    /// <summary>The target holds exactly the newest accepted state of every record; deleted ones are gone.</summary>
    private void EndState(TargetServer target)
    {
        var held = target.Records();
        var name = TargetNames.Name(target.Index);
        foreach (var (key, newest) in model.Newest.OrderBy(n => n.Key, StringComparer.Ordinal))
        {
            held.TryGetValue(key, out var record);
            var has = held.ContainsKey(key);
            if (newest.Poison && target.RejectPoison)
            {
                if (has && record.Version >= newest.Version)
                    Add("end-state", key, $"{name} holds v{record.Version}, but v{newest.Version} is rejected there for good");
                continue;
            }
            if (newest.Delete)
            {
                if (has) Add("end-state", key, $"{name} still holds v{record.Version}; v{newest.Version} deleted it");
                continue;
            }
            if (!has)
            {
                Add("end-state", key, $"{name} does not hold the record; newest is v{newest.Version}");
                continue;
            }
            var expected = Expected(target, newest);
            if (record.Version != newest.Version || !JsonNode.DeepEquals(record.Body, expected))
                Add("end-state", key, $"{name} holds v{record.Version} {Truncate(record.Body.ToJsonString(), 200)}; newest is v{newest.Version} {Truncate(expected.ToJsonString(), 200)}");
        }
        foreach (var key in held.Keys.Where(k => !model.Newest.ContainsKey(k)))
            Add("end-state", key, $"{name} holds a record that was never published");
    }

    /// <summary>Per record, the versions applied, in the order the target received them, never go backwards.</summary>
    private void History(TargetServer target, IReadOnlyList<TargetRequest> log)
    {
        foreach (var record in log.Where(r => r.Outcome == TargetOutcome.Applied).GroupBy(r => r.Key))
        {
            var highest = (TargetRequest?)null;
            foreach (var request in record.OrderBy(r => r.Sequence))
            {
                if (highest is not null && request.Version < highest.Version)
                {
                    Add("history", record.Key, $"{TargetNames.Name(target.Index)} applied v{request.Version} (#{request.Sequence}) after v{highest.Version} (#{highest.Sequence})");
                    break;
                }
                if (highest is null || request.Version > highest.Version) highest = request;
            }
        }
    }

    /// <summary>
    /// Every applied request carries the key of its (flow, entity, key, version) and the content of the one accepted
    /// event of that version: an idempotency key is never applied with two bodies, a stale event's content never lands.
    /// </summary>
    private void Applied(TargetServer target, IReadOnlyList<TargetRequest> log)
    {
        var name = TargetNames.Name(target.Index);
        var accepted = schedule.Events.Where(e => model.IntakeOf(e) == IntakeResult.Accepted).ToDictionary(e => (e.Key, e.Version));
        var bodies = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var request in log.Where(r => r.Outcome != TargetOutcome.Refused))
        {
            var expectedKey = $"{TargetNames.Flow(target.Index)}:{Schedule.Entity}:{request.Key}:{request.Version.ToString(CultureInfo.InvariantCulture)}";
            if (request.IdempotencyKey != expectedKey)
            {
                Add("idempotency", request.Key, $"{name} got idempotency key '{request.IdempotencyKey}' for {request.Key} v{request.Version}; expected '{expectedKey}'");
                return;
            }
            if (bodies.TryGetValue(request.IdempotencyKey, out var first) && first != request.Body)
            {
                Add("idempotency", request.Key, $"{name} got '{request.IdempotencyKey}' twice with different bodies: {Truncate(first, 200)} then {Truncate(request.Body, 200)}");
                return;
            }
            bodies[request.IdempotencyKey] = request.Body;
            if (!accepted.TryGetValue((request.Key, request.Version), out var e))
            {
                Add("applied", request.Key, $"{name} got v{request.Version}, a version that was never accepted");
                return;
            }
            if (e.Delete != request.Delete || (!e.Delete && !JsonNode.DeepEquals(JsonNode.Parse(request.Body!), Expected(target, e))))
            {
                Add("applied", request.Key, $"{name} got v{request.Version} as {(request.Delete ? "delete" : Truncate(request.Body, 200))}; accepted was {e.Describe()} {Truncate(e.Data, 200)}");
                return;
            }
        }
    }

    private static JsonNode Expected(TargetServer target, EventSpec e)
    {
        var data = JsonNode.Parse(e.Data!)!;
        if (target.Index == 0) return data;
        // beta's flow maps (d, r) => ({ ...d, _key: r.key, _version: r.version }).
        data["_key"] = e.Key;
        data["_version"] = e.Version;
        return data;
    }

    /// <summary>No acknowledged event is lost: every event answered 202 is in the journal, with its record and version.</summary>
    private async Task AcknowledgedAsync()
    {
        foreach (var index in run.Acknowledged.Order())
        {
            var e = schedule.Events[index];
            if (model.IntakeOf(e) == IntakeResult.Duplicate) continue;
            using var response = await run.Http.GetAsync($"{run.Lockstep.Url}/api/events/{Uri.EscapeDataString(e.EffectiveId)}");
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Add("lost", e.Key, $"acknowledged event {e.Describe()} answers {(int)response.StatusCode} at GET /api/events/{e.EffectiveId}");
                return;
            }
            using var view = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            if (view.RootElement.GetProperty("key").GetString() != e.Key || view.RootElement.GetProperty("version").GetInt64() != e.Version)
            {
                Add("lost", e.Key, $"event {e.EffectiveId} is stored as {view.RootElement.GetProperty("key")} v{view.RootElement.GetProperty("version")}, published as {e.Describe()}");
                return;
            }
        }
    }

    /// <summary>Dead letters exactly where the schedule made a permanent error (alpha rejects poison versions).</summary>
    private async Task<List<long>> DeadLettersAsync()
    {
        var ids = new List<long>();
        var found = new HashSet<(string Flow, string Key, long Version)>();
        using var dead = JsonDocument.Parse(await run.Http.GetStringAsync($"{run.Lockstep.Url}/api/dead?limit=100000"));
        foreach (var letter in dead.RootElement.EnumerateArray())
        {
            ids.Add(letter.GetProperty("id").GetInt64());
            found.Add((letter.GetProperty("flow").GetString()!, letter.GetProperty("key").GetString()!, letter.GetProperty("version").GetInt64()));
        }
        var expected = model.Poisoned.Select(e => (Flow: TargetNames.Flow(0), e.Key, e.Version)).ToHashSet();
        foreach (var extra in found.Except(expected).OrderBy(x => x.Key, StringComparer.Ordinal))
            Add("dead-letter", extra.Key, $"unexpected dead letter on {extra.Flow} for {extra.Key} v{extra.Version}");
        foreach (var missing in expected.Except(found).OrderBy(x => x.Key, StringComparer.Ordinal))
            Add("dead-letter", missing.Key, $"no dead letter on {missing.Item1} for {missing.Key} v{missing.Version}, which alpha rejects for good");
        return ids;
    }

    /// <summary>
    /// Completion events per accepted event (at most one per outcome: their ids are derived from the event's): syncCompleted
    /// once every flow has it (or a newer version), never syncFailed; for a record whose newest version dead-lettered,
    /// syncFailed for that event and no syncCompleted, and at least one of the two for its older events.
    /// </summary>
    private async Task CompletionsAsync()
    {
        foreach (var e in schedule.Events.Where(e => model.IntakeOf(e) == IntakeResult.Accepted))
        {
            var completed = await ExistsAsync($"syncCompleted:{e.EffectiveId}");
            var failed = await ExistsAsync($"syncFailed:{e.EffectiveId}");
            var poisoned = model.Newest[e.Key].Poison;
            // An older event of a poisoned record fails with it, and may complete too once every flow holds it or newer.
            var ok = !poisoned ? completed && !failed : e.Poison ? failed && !completed : completed || failed;
            if (!ok)
            {
                Add("completion", e.Key, $"{e.Describe()}: syncCompleted {(completed ? "present" : "absent")}, syncFailed {(failed ? "present" : "absent")}" +
                    (poisoned ? " (its record's newest version is dead-lettered on alpha)" : ""));
                return;
            }
        }
    }

    private async Task<bool> ExistsAsync(string id)
    {
        using var response = await run.Http.GetAsync($"{run.Lockstep.Url}/api/events/{Uri.EscapeDataString(id)}");
        return response.StatusCode == HttpStatusCode.OK;
    }

    /// <summary>With the expected dead letters dropped, status says synced.</summary>
    private async Task SyncedAfterDroppingAsync(List<long> dead)
    {
        foreach (var id in dead)
        {
            using var response = await run.Http.DeleteAsync($"{run.Lockstep.Url}/api/dead/{id.ToString(CultureInfo.InvariantCulture)}");
            if (!response.IsSuccessStatusCode) Add("dead-letter", null, $"DELETE /api/dead/{id} answered {(int)response.StatusCode}");
        }
        var clock = Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            last = await run.Http.GetStringAsync($"{run.Lockstep.Url}/api/status");
            using var status = JsonDocument.Parse(last);
            if (status.RootElement.GetProperty("state").GetString() == "synced") return;
            await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System);
        }
        Add("status", null, $"not synced after the faults stopped and the expected dead letters were dropped: {Truncate(last, 1500)}");
    }

    private void Add(string kind, string? key, string detail) => _divergences.Add(new Divergence(kind, key, detail));

    private static string Truncate(string? s, int max) => s is null ? "null" : s.Length <= max ? s : s[..max] + "…";
}
